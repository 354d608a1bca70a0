import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { deliveryProviders, HeraldPlatformModule } from '@herald/platform';
import { StatusCheckerService } from './status-checker.service';

/** The status-checker service: polls providers for delivery status after a send. */
@Module({})
export class StatusCheckerModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: StatusCheckerModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      providers: [...deliveryProviders(config), StatusCheckerService],
    };
  }
}
