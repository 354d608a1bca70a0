import { Module, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { deliveryProviders, DocsController, HeraldPlatformModule } from '@herald/platform';
import { IngestService } from './ingest.service';
import { RequestPublisher } from './request-publisher';
import { MessagesController } from './messages.controller';

/** The ingest service: accepts message requests (Kafka and POST /v1/messages), validates and deduplicates them. */
@Module({})
export class IngestModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: IngestModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [MessagesController, DocsController],
      providers: [...deliveryProviders(config), RequestPublisher, IngestService],
    };
  }
}
