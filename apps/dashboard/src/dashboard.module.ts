import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import { loadPolicyRegistry, type HeraldConfig } from '@herald/config';
import { DeliveryResender } from '@herald/kafka';
import {
  DashboardSessions,
  ReadModelStore,
  WebhookDeliveryStore,
  WebhookEndpointStore,
} from '@herald/mongo';
import {
  AVRO_CODEC,
  HeraldPlatformModule,
  KAFKA,
  MessageControlsService,
  MONGO_DB,
  POLICIES,
} from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { DashboardErrorFilter } from './pages/error.filter';
import { FeedController } from './pages/feed.controller';
import { MessagesController } from './pages/messages.controller';
import { WebhooksController } from './pages/webhooks.controller';
import { SessionGuard } from './sessions/session.guard';
import { SignInController } from './sessions/sign-in.controller';
import { StatusController, StatusService } from './status';
import { Views } from './views';

/** Expired sessions are deleted this often (reads ignore them anyway; see DashboardSessions). */
const SESSION_SWEEP_MS = 10 * 60_000;

/**
 * The dashboard: server-rendered pages over the same stores and services as the APIs (the read
 * model, the message controls, the webhook stores), signed in with a tenant's secret key; and
 * the public status page.
 */
@Module({})
export class DashboardModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DashboardSessions) private readonly sessions: DashboardSessions,
    @Inject(DeliveryResender) private readonly resender: DeliveryResender,
  ) {}

  static forConfig(config: HeraldConfig): DynamicModule {
    const onDb = <T>(make: (db: Db) => T) => ({ inject: [MONGO_DB], useFactory: make });
    return {
      module: DashboardModule,
      imports: [HeraldPlatformModule.forConfig(config)],
      controllers: [
        SignInController,
        MessagesController,
        WebhooksController,
        FeedController,
        StatusController,
      ],
      providers: [
        { provide: Views, useValue: new Views() },
        { provide: POLICIES, useFactory: () => loadPolicyRegistry(config.retryPoliciesFile) },
        { provide: DashboardSessions, ...onDb((db) => new DashboardSessions(db)) },
        { provide: ReadModelStore, ...onDb((db) => new ReadModelStore(db)) },
        { provide: WebhookEndpointStore, ...onDb((db) => new WebhookEndpointStore(db)) },
        { provide: WebhookDeliveryStore, ...onDb((db) => new WebhookDeliveryStore(db)) },
        {
          provide: DeliveryResender,
          inject: [KAFKA, AVRO_CODEC],
          useFactory: (kafka: Kafka, codec: AvroCodec) =>
            new DeliveryResender(config, kafka, codec),
        },
        MessageControlsService,
        SessionGuard,
        DashboardErrorFilter,
        StatusService,
      ],
    };
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => {
      this.sessions.sweep(Date.now()).catch(() => undefined); // the next sweep tries again
    }, SESSION_SWEEP_MS);
    this.sweeper.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.resender.close();
  }
}
