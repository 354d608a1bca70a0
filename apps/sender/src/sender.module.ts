import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { deliveryProviders, HeraldPlatformModule } from '@herald/platform';
import { SenderService } from './sender.service';

/** The sender service: calls providers and schedules retries through the delay topics. */
@Module({})
export class SenderModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: SenderModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      providers: [...deliveryProviders(config), SenderService],
    };
  }
}
