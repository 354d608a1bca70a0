import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { type HeraldConfig } from '@herald/config';
import { createKafka, ensureTopics } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { ALL_TOPICS } from '@herald/topics';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, KAFKA_ADMIN, MONGO_CLIENT, MONGO_DB } from './tokens';

/**
 * The connections every Herald service shares, opened at start in dependency order:
 * Kafka admin → topics ensured → schemas registered → MongoDB. Any failure rejects the
 * application's creation, so a service never reports ready with a broken dependency.
 */
@Global()
@Module({})
export class HeraldPlatformModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Platform');

  constructor(
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(MONGO_CLIENT) private readonly mongo: MongoClient,
  ) {}

  static forConfig(config: HeraldConfig): DynamicModule {
    // Only the connections every service needs live here; what delivers messages is in
    // deliveryProviders, for the services that do.
    return {
      module: HeraldPlatformModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: HERALD_CONFIG, useValue: config },
        { provide: KAFKA, useValue: createKafka(config.kafka) },
        {
          provide: KAFKA_ADMIN,
          inject: [KAFKA],
          useFactory: (kafka: Kafka) =>
            naming(`Kafka (${config.kafka.brokers.join(',')})`, async () => {
              // No retries: the admin client also serves readiness probes, which must report a
              // lost broker at once rather than after kafkajs's back-off.
              const admin = kafka.admin({ retry: { retries: 0 } });
              await admin.connect();
              await ensureTopics(admin, ALL_TOPICS);
              return admin;
            }),
        },
        {
          provide: AVRO_CODEC,
          inject: [KAFKA_ADMIN],
          useFactory: () =>
            naming(`schema registry (${config.schemaRegistryUrl})`, async () => {
              const schemaDir = resolveSchemaDir(config.schemaDir);
              const codec = AvroCodec.connect(config.schemaRegistryUrl, schemaDir);
              await codec.register(ALL_TOPICS);
              return codec;
            }),
        },
        {
          provide: MONGO_CLIENT,
          useFactory: () =>
            naming(`MongoDB (${redactUri(config.mongodbUri)})`, () =>
              createMongoClient(config.mongodbUri).connect(),
            ),
        },
        {
          provide: MONGO_DB,
          inject: [MONGO_CLIENT],
          useFactory: (client: MongoClient) => heraldDb(client, config.mongodbUri),
        },
      ],
      exports: [HERALD_CONFIG, KAFKA, KAFKA_ADMIN, AVRO_CODEC, MONGO_CLIENT, MONGO_DB],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.mongo.close()]);
    this.logger.log('connections closed');
  }
}

/** Start-up errors say which dependency failed, so an operator knows which server to look at. */
async function naming<T>(dependency: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw new Error(`${dependency}: ${(error as Error).message}`, { cause: error });
  }
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]+@/, '//***@');
}
