import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { Db, MongoClient } from 'mongodb';
import { type HeraldConfig } from '@herald/config';
import { createKafka, ensureTopics, kafkaAuthenticationFailure } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { ALL_TOPICS } from '@herald/topics';
import { startTracing, type Tracing } from '@herald/tracing';
import { Access } from './access';
import { AccessGuard } from './access.guard';
import { HeraldErrorFilter } from './error-filter';
import { HealthController } from './health.controller';
import { serviceLogging } from './logging';
import { MetricsController } from './metrics.controller';
import { markShuttingDown } from './readiness';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, KAFKA_ADMIN, MONGO_CLIENT, MONGO_DB } from './tokens';

/** This process's tracing, when configured; flushed at shutdown. */
let tracing: Tracing | null = null;

/**
 * The connections every Herald service shares, opened at start in dependency order:
 * Kafka admin → topics ensured → schemas registered → MongoDB. Any failure rejects the
 * application's creation, so a service never reports ready with a broken dependency.
 */
@Global()
@Module({})
export class HeraldPlatformModule implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('Platform');

  constructor(
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(MONGO_CLIENT) private readonly mongo: MongoClient,
    @Inject(Access) private readonly access: Access,
  ) {}

  static forConfig(config: HeraldConfig): DynamicModule {
    // Spans only when a collector is configured (OTEL_EXPORTER_OTLP_ENDPOINT); see tracing.ts.
    tracing = startTracing({
      service: `herald-${config.service}`,
      instance: config.instanceId,
      endpoint: config.tracesEndpoint,
    });
    // Only the connections every service needs live here; what delivers messages is in
    // deliveryProviders, for the services that do.
    return {
      module: HeraldPlatformModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: HERALD_CONFIG, useValue: config },
        // kafkajs writes through the service's log writer: its lines are JSON lines too.
        { provide: KAFKA, useValue: createKafka(config.kafka, serviceLogging(config).writer) },
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
            }).catch((error: unknown) => {
              // The first connection of every service: refused credentials say so plainly.
              throw kafkaAuthenticationFailure(error, config.kafka) ?? error;
            }),
        },
        {
          provide: AVRO_CODEC,
          inject: [KAFKA_ADMIN],
          useFactory: () =>
            naming(`schema registry (${config.schemaRegistryUrl})`, async () => {
              const schemaDir = resolveSchemaDir(config.schemaDir);
              const codec = AvroCodec.connect(
                config.schemaRegistryUrl,
                schemaDir,
                config.schemaRegistryAuth,
              );
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
        {
          provide: Access,
          inject: [MONGO_DB],
          useFactory: (db: Db) => new Access(db, config),
        },
        // Every route of every service passes the access guard (see AccessGuard for the rules).
        { provide: APP_GUARD, useClass: AccessGuard },
        // …and every error leaves in Herald's shape (see HeraldErrorFilter).
        { provide: APP_FILTER, useClass: HeraldErrorFilter },
      ],
      exports: [HERALD_CONFIG, KAFKA, KAFKA_ADMIN, AVRO_CODEC, MONGO_CLIENT, MONGO_DB, Access],
    };
  }

  /** Nest's first step of shutdown, before any service drains its consumers. */
  onModuleDestroy(): void {
    markShuttingDown();
  }

  async onApplicationShutdown(): Promise<void> {
    this.access.stop();
    // The spans still buffered go to the collector before the process ends.
    await Promise.allSettled([this.admin.disconnect(), this.mongo.close(), tracing?.shutdown()]);
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
