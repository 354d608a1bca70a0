import { Module, type DynamicModule } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import { RequestPublisher } from '@herald/kafka';
import {
  AVRO_CODEC,
  deliveryProviders,
  DocsController,
  HeraldPlatformModule,
  KAFKA,
} from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { IngestService } from './ingest.service';
import { MessageControlsController } from './message-controls.controller';
import { MessageControlsService } from '@herald/platform';
import { MessagesController } from './messages.controller';

/** The ingest service: accepts message requests (Kafka and POST /v1/messages), validates and deduplicates them. */
@Module({})
export class IngestModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: IngestModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [MessagesController, MessageControlsController, DocsController],
      providers: [
        ...deliveryProviders(config),
        {
          provide: RequestPublisher,
          inject: [KAFKA, AVRO_CODEC],
          useFactory: async (kafka: Kafka, codec: AvroCodec) => {
            const publisher = new RequestPublisher(kafka, codec);
            await publisher.connect();
            return publisher;
          },
        },
        IngestService,
        MessageControlsService,
      ],
    };
  }
}
