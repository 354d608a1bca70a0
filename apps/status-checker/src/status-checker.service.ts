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
import type { HeraldConfig } from '@herald/config';
import { internalError } from '@herald/error-classification';
import {
  afterStatusCheck,
  unrecoverable,
  type CheckOutcome,
  type StatusCheckTask,
} from '@herald/decisions';
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
import { recordRetryScheduled, recordStatusCheck } from '@herald/metrics';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, POLICIES, PROVIDERS } from '@herald/platform';
import type { StatusCheckResult } from '@herald/decisions';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { STATUS_CHECK_DELAY_TOPICS, TOPICS } from '@herald/topics';
import { inProviderCallSpan } from '@herald/tracing';

/**
 * Consumes herald.status-checks: asks the provider what became of a message it accepted, and
 * records the answer (`delivered`, `bounced`, `undelivered`) or a `status_check_attempted`
 * with the next check scheduled through the delay tiers by the policy's status-check schedule.
 */
@Injectable()
export class StatusCheckerService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('StatusChecker');
  private consumers: RunningConsumer[] = [];

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumers = await runScheduledWork<StatusCheckTask>({
      kafka: this.kafka,
      codec: this.codec,
      ...consumerSettingsFrom(this.config),
      maxInFlight: this.config.maxInFlight,
      groupId: 'herald-status-checker',
      service: 'status-checker',
      work: TOPICS.statusChecks,
      delays: STATUS_CHECK_DELAY_TOPICS,
      logger: this.logger,
      perform: (task) => this.perform(task),
      recordFailure: (task, error) => this.recordFailure(task, error),
    });
  }

  /** While HTTP still answers (readiness 503): running checks finish and commit, nothing new starts. */
  async beforeApplicationShutdown(): Promise<void> {
    this.logger.log(`stopping: running checks finish and commit, nothing new starts`);
    this.logger.log(`stopped consuming in ${await stopConsumers(this.consumers)} ms`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.providers.close();
  }

  private async perform(task: StatusCheckTask): Promise<Output[]> {
    const result = await this.check(task);
    recordStatusCheck(task.provider, result);
    return this.record(afterStatusCheck(task, result, this.decisionDeps(task)));
  }

  /**
   * A task whose handling kept failing inside Herald: a failed check under the policy's
   * schedule; if even that cannot be worked out or written, the checks stop with the reason.
   */
  private async recordFailure(task: StatusCheckTask, fault: unknown): Promise<Output[]> {
    const error = internalError(fault);
    try {
      return await this.record(
        afterStatusCheck(task, { ok: false, error, log: null }, this.decisionDeps(task)),
      );
    } catch (again) {
      if (isTransientFault(again)) throw again;
      const failed = {
        ok: false as const,
        error: unrecoverable(error, errorMessage(again)),
        log: null,
      };
      return this.record(
        afterStatusCheck(task, failed, { ...this.decisionDeps(task), schedule: null }),
      );
    }
  }

  private decisionDeps(task: StatusCheckTask) {
    const policy = this.policies.get(task.retryPolicy) ?? this.policies.resolve(null, task.channel);
    return {
      schedule: policy.statusCheck,
      now: Date.now(),
      timeScale: this.config.timeScale,
      newId: randomUUID,
      random: Math.random,
    };
  }

  private async record(outcome: CheckOutcome): Promise<Output[]> {
    const outputs: Output[] = [];
    for (const event of outcome.events) outputs.push(await eventOutput(this.codec, event));
    if (outcome.next) {
      outputs.push(await scheduleTask(this.codec, TOPICS.statusChecks.name, outcome.next));
      recordRetryScheduled('status-checks', outcome.next.dueAt);
    }
    return outputs;
  }

  private async check(task: StatusCheckTask): Promise<StatusCheckResult> {
    const adapter = this.providers.get(task.provider);
    if (!adapter?.checkStatus) {
      return {
        ok: false,
        error: {
          category: 'non_retryable',
          code: 'status_checks_unsupported',
          message: `provider '${task.provider}' cannot be asked for delivery status on this status checker`,
        },
        log: null,
      };
    }
    try {
      // The call as a span of the message's trace (with tracing on).
      return await inProviderCallSpan('status', task, () =>
        adapter.checkStatus!({
          messageId: task.messageId,
          tenantId: task.tenantId,
          channel: task.channel,
          recipient: task.recipient,
          providerMessageId: task.providerMessageId,
          attempt: task.attempt,
        }),
      );
    } catch (error) {
      // Adapters classify their own failures; reaching here is a bug, retried as `internal`.
      return { ok: false, error: internalError(error), log: null };
    }
  }
}
