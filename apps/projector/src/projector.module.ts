import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { DocsController, HeraldPlatformModule } from '@herald/platform';
import { FeedController } from './feed.controller';
import { ProjectorService } from './projector.service';
import { ReadModelStore } from './read-model-store';
import { ReadApiController } from './read-api.controller';

/** The projector service: projects herald.message-events into MongoDB and serves the read API. */
@Module({})
export class ProjectorModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [ReadApiController, FeedController, DocsController],
      providers: [ReadModelStore, ProjectorService],
    };
  }
}
