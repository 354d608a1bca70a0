import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import { stopConsumers, type RunningConsumer } from '@herald/kafka';
import { WebhookDeliveryStore } from '@herald/mongo';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA } from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { DeliveryResender } from '@herald/kafka';
import { DeliveryService } from './delivery.service';
import { runDeliveryProjection } from './delivery-projection';
import { FanOutService } from './fan-out.service';

/** Starts the webhooks service's three consumers (fan-out, delivery, projection) and drains them. */
@Injectable()
export class WebhooksService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Webhooks');
  private consumers: RunningConsumer[] = [];

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(FanOutService) private readonly fanOut: FanOutService,
    @Inject(DeliveryService) private readonly delivery: DeliveryService,
    @Inject(WebhookDeliveryStore) private readonly deliveries: WebhookDeliveryStore,
    @Inject(DeliveryResender) private readonly resender: DeliveryResender,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumers.push(
      await runDeliveryProjection(this.config, this.kafka, this.codec, this.deliveries),
    );
    this.consumers.push(...(await this.delivery.start()));
    this.consumers.push(await this.fanOut.start());
  }

  /** While HTTP still answers (readiness 503): running calls finish and commit. */
  async beforeApplicationShutdown(): Promise<void> {
    this.logger.log(`stopped consuming in ${await stopConsumers(this.consumers)} ms`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.resender.close();
  }
}
