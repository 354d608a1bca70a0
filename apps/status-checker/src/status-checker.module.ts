import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { HeraldPlatformModule } from '@herald/platform';

/** The status-checker service: polls providers for delivery status after a send. */
@Module({})
export class StatusCheckerModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: StatusCheckerModule,
      imports: [HeraldPlatformModule.forConfig(config)],
    };
  }
}
