import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Db } from 'mongodb';
import { MessageClaims } from '@herald/mongo';
import type { HeraldConfig } from '@herald/config';
import { withRequestDefaults, type MessageRequested } from '@herald/messages';
import { identityProblems, ingestRequest } from '@herald/decisions';
import {
  consumerSettingsFrom,
  deadLetter,
  decodeOrDeadLetter,
  eventOutput,
  runWorkConsumer,
  writeHealth,
  scheduleTask,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import { heraldMetrics } from '@herald/metrics';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, MONGO_DB, POLICIES, PROVIDERS } from '@herald/platform';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';

/** Consumes herald.messages.requested: validate, deduplicate, emit `queued` + a delivery task. */
@Injectable()
export class IngestService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Ingest');
  private readonly claims: MessageClaims;
  private consumer: RunningConsumer | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(MONGO_DB) db: Db,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {
    this.claims = new MessageClaims(db);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await runWorkConsumer({
      kafka: this.kafka,
      groupId: 'herald-ingest',
      topics: [TOPICS.messagesRequested.name],
      ...consumerSettingsFrom(this.config),
      service: 'ingest',
      logger: this.logger,
      maxInFlight: this.config.maxInFlight,
      handle: (message, topic, partition) => this.handle(message, topic, partition),
    });
  }

  /** While HTTP still answers (readiness 503): running records finish and commit. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(message: KafkaMessage, topic: string, partition: number): Promise<Output[]> {
    const decoded = await decodeOrDeadLetter<MessageRequested>(
      this.codec,
      message,
      { topic, partition, service: 'ingest' },
      this.logger,
    );
    if (!decoded.ok) return [decoded.deadLetter];
    const request = withRequestDefaults(decoded.value);
    // An id that cannot be stored or shown (control characters, too long) cannot name a
    // message at all, not even a not_sent one: such a record is dead-lettered, with the reason.
    const [identity] = identityProblems(request);
    if (identity) {
      const unidentifiable = `${identity.field}: ${identity.problem}`;
      this.logger.warn(`dead-lettering ${topic}/${partition}@${message.offset}: ${unidentifiable}`);
      const source = { topic, partition, service: 'ingest' };
      return [deadLetter(message, source, unidentifiable, 'invalid_record')];
    }

    const now = Date.now();
    // The record's tenantId is trusted: only producers Kafka's ACLs allow can write this topic.
    const claim = await writeHealth.track('mongodb', () =>
      this.claims.claim(request, `${topic}/${partition}/${message.offset}`, now),
    );
    const ids = { messageId: request.messageId, tenantId: request.tenantId };
    if (claim === 'duplicate') {
      this.logger.debug({ msg: `ignoring a duplicate of ${request.messageId}`, ...ids });
      return [];
    }

    const decision = ingestRequest(request, {
      providers: this.providers,
      policies: this.policies,
      now,
      newId: randomUUID,
    });
    this.logger.debug({
      msg: `${decision.kind}: ${request.channel} via ${request.provider}`,
      ...ids,
      error: decision.event.error?.code,
    });
    const outputs: Output[] = [await eventOutput(this.codec, decision.event)];
    if (decision.kind === 'queued') {
      outputs.push(await scheduleTask(this.codec, TOPICS.deliveries.name, decision.task));
      heraldMetrics.messagesAccepted.inc({ channel: decision.task.channel });
    } else {
      heraldMetrics.messagesRejected.inc({ reason: decision.event.error?.code ?? 'unknown' });
    }
    return outputs;
  }
}
