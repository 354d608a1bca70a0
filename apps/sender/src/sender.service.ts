import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  DELAY_TIERS,
  decodeDueAt,
  DUE_AT_HEADER,
  encodeDueAt,
  routeFor,
  tierTopic,
} from '@herald/delay-tiers';
import { internalError } from '@herald/error-classification';
import {
  afterAttempt,
  decodeOrDeadLetter,
  runDelayTierConsumer,
  runWorkConsumer,
  sleep,
  type DeliveryTask,
  type Output,
  type RunningConsumer,
} from '@herald/pipeline';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, POLICIES, PROVIDERS } from '@herald/platform';
import type { ProviderRegistry, SendResult } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { DELIVERY_DELAY_TOPICS, TOPICS } from '@herald/topics';

/**
 * Consumes herald.deliveries: makes each attempt through the provider's adapter and records the
 * outcome; a retry goes back through the delay tiers. Also runs the tiers' consumer, which
 * moves waiting attempts towards herald.deliveries as they come due.
 */
@Injectable()
export class SenderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sender');
  private readonly consumers: RunningConsumer[] = [];

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const common = {
      kafka: this.kafka,
      instanceId: this.config.instanceId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
    };
    this.consumers.push(
      await runWorkConsumer({
        ...common,
        groupId: 'herald-sender',
        topics: [TOPICS.deliveries.name],
        partitionsConsumedConcurrently: this.config.partitionConcurrency,
        maxInFlight: this.config.maxInFlight,
        handle: (message, topic, partition) => this.handle(message, topic, partition),
        // The tiers hand a task over less than a tier's hold before it is due; its partition
        // waits out the rest, so an attempt never starts early.
        notBefore: (message) =>
          decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0,
      }),
      await runDelayTierConsumer({
        ...common,
        groupId: 'herald-sender-delays',
        topics: DELIVERY_DELAY_TOPICS.map((topic) => topic.name),
        // Every tier partition waits on its own head record, so each needs its own slot.
        partitionsConsumedConcurrently: DELIVERY_DELAY_TOPICS.reduce((n, t) => n + t.partitions, 0),
        workTopic: TOPICS.deliveries.name,
        tiers: DELAY_TIERS,
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.consumers.map((consumer) => consumer.stop()));
  }

  private async handle(message: KafkaMessage, topic: string, partition: number): Promise<Output[]> {
    const decoded = await decodeOrDeadLetter<DeliveryTask>(
      this.codec,
      message,
      { topic, partition, service: 'sender' },
      this.logger,
    );
    if (!decoded.ok) return [decoded.deadLetter];
    const task = decoded.value;

    // A timer may fire a millisecond early, and a task due far ahead goes back to the tiers.
    const early = task.dueAt - Date.now();
    if (early > 0) {
      const route = routeFor(task.dueAt, Date.now());
      if (route !== 'work') return [await this.schedule(task)];
      await sleep(early);
    }

    const policy = this.policies.get(task.retryPolicy) ?? this.policies.resolve(null, task.channel);
    const startedAt = Date.now();
    const result = await this.attempt(task);
    const outcome = afterAttempt(task, result, {
      policy,
      startedAt,
      now: Date.now(),
      timeScale: this.config.timeScale,
    });
    const outputs: Output[] = [
      {
        topic: TOPICS.messageEvents.name,
        key: task.messageId,
        value: await this.codec.encode(TOPICS.messageEvents.name, outcome.event),
      },
    ];
    if (outcome.retry) outputs.push(await this.schedule(outcome.retry));
    return outputs;
  }

  private async attempt(task: DeliveryTask): Promise<SendResult> {
    const adapter = this.providers.get(task.provider);
    if (!adapter) {
      return {
        ok: false,
        error: {
          category: 'non_retryable',
          code: 'unknown_provider',
          message: `provider '${task.provider}' is not configured on this sender`,
        },
        log: null,
      };
    }
    try {
      return await adapter.send({
        messageId: task.messageId,
        tenantId: task.tenantId,
        channel: task.channel,
        recipient: task.recipient,
        content: task.content,
        metadata: task.metadata,
        attempt: task.attempt,
      });
    } catch (error) {
      // Adapters classify their own failures; reaching here is a bug, retried as `internal`.
      return { ok: false, error: internalError(error), log: null };
    }
  }

  /** A task due later goes to the largest delay tier that fits, or straight to work. */
  private async schedule(task: DeliveryTask): Promise<Output> {
    const route = routeFor(task.dueAt, Date.now());
    return {
      topic: route === 'work' ? TOPICS.deliveries.name : tierTopic(TOPICS.deliveries.name, route),
      key: task.messageId,
      value: await this.codec.encode(TOPICS.deliveries.name, task),
      headers: { [DUE_AT_HEADER]: encodeDueAt(task.dueAt) },
    };
  }
}
