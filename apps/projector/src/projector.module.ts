import { Module, type DynamicModule } from '@nestjs/common';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import { ReadModelStore } from '@herald/mongo';
import { DocsController, HeraldPlatformModule, MONGO_DB } from '@herald/platform';
import { FeedController } from './feed.controller';
import { ProjectorService } from './projector.service';
import { ReadApiController } from './read-api.controller';

/** The projector service: projects herald.message-events into MongoDB and serves the read API. */
@Module({})
export class ProjectorModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [ReadApiController, FeedController, DocsController],
      providers: [
        {
          provide: ReadModelStore,
          useFactory: (db: Db) => new ReadModelStore(db),
          inject: [MONGO_DB],
        },
        ProjectorService,
      ],
    };
  }
}
