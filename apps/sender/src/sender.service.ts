import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import { levelEnabled, logLevelName, type HeraldConfig } from '@herald/config';
import { internalError } from '@herald/error-classification';
import {
  afterAttempt,
  cancelAfterAttempt,
  checkTask,
  unrecoverable,
  type AttemptOutcome,
  type DeliveryTask,
} from '@herald/decisions';
import { MessageControls, type ControlDocument } from '@herald/mongo';
import {
  consumerSettingsFrom,
  stopConsumers,
  errorMessage,
  eventOutput,
  isTransientFault,
  runScheduledWork,
  scheduleTask,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import { recordAttempt, recordRetryScheduled, startProviderCall } from '@herald/metrics';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, MONGO_DB, POLICIES, PROVIDERS } from '@herald/platform';
import type { ProviderAdapter, SendResult } from '@herald/decisions';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { DELIVERY_DELAY_TOPICS, TOPICS } from '@herald/topics';
import { inProviderCallSpan } from '@herald/tracing';

/** How often the sender repeats that it cannot read message controls. */
const CONTROLS_WARNING_EVERY_MS = 30_000;

/**
 * Consumes herald.deliveries: makes each attempt through the provider's adapter and records the
 * outcome; a retry goes back through the delay tiers, and a `sent` the provider can report on
 * starts its status checks on herald.status-checks. Before each call it reads the message's
 * control (message_controls): a canceled or resent message's older task is dropped, and a cancel
 * asked for is recorded instead of the call.
 */
@Injectable()
export class SenderService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Sender');
  private consumers: RunningConsumer[] = [];
  private readonly controls: MessageControls;
  private controlsUnreadableSince = 0;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
    @Inject(MONGO_DB) db: Db,
  ) {
    this.controls = new MessageControls(db);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumers = await runScheduledWork<DeliveryTask>({
      kafka: this.kafka,
      codec: this.codec,
      ...consumerSettingsFrom(this.config),
      maxInFlight: this.config.maxInFlight,
      groupId: 'herald-sender',
      service: 'sender',
      work: TOPICS.deliveries,
      delays: DELIVERY_DELAY_TOPICS,
      logger: this.logger,
      perform: (task) => this.perform(task),
      recordFailure: (task, error) => this.recordFailure(task, error),
    });
  }

  /** While HTTP still answers (readiness 503): running calls finish and commit, nothing new starts. */
  async beforeApplicationShutdown(): Promise<void> {
    this.logger.log(`stopping: running calls finish and commit, nothing new starts`);
    this.logger.log(`stopped consuming in ${await stopConsumers(this.consumers)} ms`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.providers.close();
  }

  private async perform(task: DeliveryTask): Promise<Output[]> {
    const control = await this.control(task);
    const check = checkTask(task, control, { now: Date.now(), newId: randomUUID });
    if (check.kind === 'stale') return this.dropStale(task, control);
    if (check.kind === 'cancel') return [await eventOutput(this.codec, check.event)];

    const adapter = this.providers.get(task.provider);
    const startedAt = Date.now();
    const result = await this.attempt(adapter, task);
    let outcome = afterAttempt(task, result, {
      ...this.decisionDeps(task, startedAt),
      checksStatus: adapter?.checkStatus !== undefined,
    });
    // A cancel asked for while the call was in flight: nothing follows the call's outcome.
    if (outcome.retry && (await this.control(task))?.state === 'cancel_requested') {
      outcome = cancelAfterAttempt(outcome, { now: Date.now(), newId: randomUUID });
    }
    recordAttempt(task, outcome);
    return this.record(outcome);
  }

  /**
   * The message's control, or null when MongoDB cannot be reached: the sender goes on sending
   * through a database outage (SMS and email need no database), at the cost that a cancel asked
   * of the sender just before it is seen only once the database is back. A control the API
   * claimed itself (`canceled`) drops every later task of the message once it is read again.
   */
  private async control(task: DeliveryTask): Promise<ControlDocument | null> {
    try {
      return await this.controls.get(task.tenantId, task.messageId);
    } catch (error) {
      if (!isTransientFault(error)) throw error;
      const now = Date.now();
      if (now - this.controlsUnreadableSince > CONTROLS_WARNING_EVERY_MS) {
        this.controlsUnreadableSince = now;
        this.logger.warn(
          `message controls unreadable (${errorMessage(error)}); sending without them until MongoDB answers`,
        );
      }
      return null;
    }
  }

  /**
   * A task the API overtook (it canceled the message, or resent it, after the task was made):
   * nothing to do, unless the API claimed this very seq for its `canceled` and did not get to
   * write it (it stopped in between), in which case the sender writes the stored event.
   */
  private async dropStale(task: DeliveryTask, control: ControlDocument | null): Promise<Output[]> {
    this.logger.log({
      msg: `dropping ${task.messageId} attempt ${task.attempt}: ${control?.state}`,
      messageId: task.messageId,
      tenantId: task.tenantId,
    });
    if (control?.state === 'canceled' && !control.emitted && control.event) {
      if (control.seq === task.nextSeq) return [await eventOutput(this.codec, control.event)];
    }
    return [];
  }

  /**
   * A task whose handling kept failing inside Herald: an `internal` failure under its policy;
   * if even that cannot be worked out or written, `undelivered` with the reason.
   */
  private async recordFailure(task: DeliveryTask, fault: unknown): Promise<Output[]> {
    const error = internalError(fault);
    const deps = { ...this.decisionDeps(task, Date.now()), checksStatus: false };
    try {
      return await this.record(afterAttempt(task, { ok: false, error, log: null }, deps));
    } catch (again) {
      if (isTransientFault(again)) throw again;
      return this.record(
        afterAttempt(
          task,
          { ok: false, error: unrecoverable(error, errorMessage(again)), log: null },
          deps,
        ),
      );
    }
  }

  private decisionDeps(task: DeliveryTask, startedAt: number) {
    return {
      policy: this.policies.get(task.retryPolicy) ?? this.policies.resolve(null, task.channel),
      startedAt,
      now: Date.now(),
      timeScale: this.config.timeScale,
      newId: randomUUID,
      random: Math.random,
    };
  }

  private async record(outcome: AttemptOutcome): Promise<Output[]> {
    const [attempted] = outcome.events;
    // Built only when it is written: this runs for every attempt.
    if (attempted && levelEnabled('debug', logLevelName(this.config.logLevel))) {
      this.logger.debug({
        msg: `attempt ${attempted.attempt}: ${outcome.events.map((e) => e.type).join(', ')}`,
        messageId: attempted.messageId,
        tenantId: attempted.tenantId,
        provider: attempted.provider,
        status: outcome.events[outcome.events.length - 1]!.status,
        error: attempted.error?.code,
        nextAttemptAt: outcome.retry ? new Date(outcome.retry.dueAt).toISOString() : undefined,
      });
    }
    const outputs: Output[] = await Promise.all(
      outcome.events.map((event) => eventOutput(this.codec, event)),
    );
    if (outcome.retry) {
      outputs.push(await scheduleTask(this.codec, TOPICS.deliveries.name, outcome.retry));
      recordRetryScheduled('deliveries', outcome.retry.dueAt);
    }
    if (outcome.statusCheck) {
      outputs.push(await scheduleTask(this.codec, TOPICS.statusChecks.name, outcome.statusCheck));
    }
    return outputs;
  }

  private async attempt(
    adapter: ProviderAdapter | undefined,
    task: DeliveryTask,
  ): Promise<SendResult> {
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
    const callEnded = startProviderCall(task.provider, task.channel);
    try {
      // The call as a span of the message's trace (with tracing on).
      return await inProviderCallSpan('send', task, () =>
        adapter.send({
          messageId: task.messageId,
          tenantId: task.tenantId,
          channel: task.channel,
          recipient: task.recipient,
          content: task.content,
          metadata: task.metadata,
          attempt: task.attempt,
        }),
      );
    } catch (error) {
      // Adapters classify their own failures; reaching here is a bug, retried as `internal`.
      return { ok: false, error: internalError(error), log: null };
    } finally {
      callEnded();
    }
  }
}
