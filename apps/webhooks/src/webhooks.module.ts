import { Module, type DynamicModule } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import { ReadModelStore, WebhookDeliveryStore, WebhookEndpointStore } from '@herald/mongo';
import { AVRO_CODEC, HeraldPlatformModule, KAFKA, MONGO_DB } from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { DeliveryResender } from '@herald/kafka';
import { DeliveryService } from './delivery.service';
import { EndpointDirectory } from './endpoint-directory';
import { EndpointsController } from './endpoints.controller';
import { FanOutService } from './fan-out.service';
import { MessageStates } from './message-states';
import { WebhooksService } from './webhooks.service';

/**
 * The webhooks service: fans message events out to tenants' endpoints, delivers them signed
 * with retries, projects every attempt, and serves /v1/webhook-endpoints.
 */
@Module({})
export class WebhooksModule {
  static forConfig(config: HeraldConfig): DynamicModule {
    return {
      module: WebhooksModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [EndpointsController],
      providers: [
        {
          provide: WebhookEndpointStore,
          inject: [MONGO_DB],
          useFactory: (db: Db) => new WebhookEndpointStore(db),
        },
        {
          provide: WebhookDeliveryStore,
          inject: [MONGO_DB],
          useFactory: (db: Db) => new WebhookDeliveryStore(db),
        },
        {
          provide: MessageStates,
          inject: [MONGO_DB],
          useFactory: (db: Db) => new MessageStates(new ReadModelStore(db)),
        },
        {
          provide: EndpointDirectory,
          inject: [WebhookEndpointStore],
          useFactory: (store: WebhookEndpointStore) => new EndpointDirectory(store),
        },
        {
          provide: DeliveryResender,
          inject: [KAFKA, AVRO_CODEC],
          useFactory: (kafka: Kafka, codec: AvroCodec) =>
            new DeliveryResender(config, kafka, codec),
        },
        FanOutService,
        DeliveryService,
        WebhooksService,
      ],
    };
  }
}
