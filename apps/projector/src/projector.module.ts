import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { HeraldPlatformModule } from '@herald/platform';

/** The projector service: projects herald.message-events into MongoDB and serves the read API. */
@Module({})
export class ProjectorModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [HeraldPlatformModule.forConfig(config)],
    };
  }
}
