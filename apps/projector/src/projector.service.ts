import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import { ReadModelStore } from '@herald/mongo';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA } from '@herald/platform';
import { Projection } from '@herald/projection';
import type { AvroCodec } from '@herald/schema-registry';

/** Runs the projection (libs/edge/projection) for as long as the service runs. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly projection: Projection;

  constructor(
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(AVRO_CODEC) codec: AvroCodec,
    @Inject(ReadModelStore) store: ReadModelStore,
  ) {
    this.projection = new Projection(config, kafka, codec, store);
  }

  onApplicationBootstrap(): Promise<void> {
    return this.projection.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.projection.stop();
  }
}
