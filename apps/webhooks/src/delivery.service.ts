import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  consumerSettingsFrom,
  errorMessage,
  runScheduledWork,
  scheduleTask,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import { WebhookEndpointStore } from '@herald/mongo';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA } from '@herald/platform';
import { deliverWebhook } from '@herald/providers';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS, WEBHOOK_DELAY_TOPICS } from '@herald/topics';
import {
  afterWebhookAttempt,
  droppedDelivery,
  signingSecrets,
  type AttemptDecision,
  type WebhookCallResult,
  type WebhookDeliveryTask,
  type WebhookEndpoint,
} from '@herald/webhooks';
import { EndpointCalls, type EndpointCall } from './endpoint-calls';
import { EndpointDirectory } from './endpoint-directory';
import { deliveryEventOutput } from '@herald/kafka';
import { webhookMetrics } from './webhook-metrics';

export const DELIVERY_GROUP = 'herald-webhooks';

/** How long a delivery waits when its endpoint already has its most calls in flight. */
const BUSY_ENDPOINT_WAIT_MS = 1_000;

/**
 * Consumes herald.webhook-deliveries: makes each attempt and records it (an immutable event on
 * herald.webhook-delivery-events) with the task's offset; a retry goes back through the delay
 * tiers, exactly as the sender's do. See EndpointCalls for how a slow endpoint is kept from
 * holding up the others.
 */
@Injectable()
export class DeliveryService {
  private readonly logger = new Logger('WebhookDelivery');
  private readonly calls: EndpointCalls;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(EndpointDirectory) private readonly directory: EndpointDirectory,
    @Inject(WebhookEndpointStore) private readonly endpoints: WebhookEndpointStore,
  ) {
    this.calls = new EndpointCalls(
      config.webhooks.endpointConcurrency,
      config.webhooks.timeoutMs,
      config.webhooks.slowAfterMs,
    );
  }

  start(): Promise<RunningConsumer[]> {
    return runScheduledWork<WebhookDeliveryTask>({
      kafka: this.kafka,
      codec: this.codec,
      ...consumerSettingsFrom(this.config),
      maxInFlight: this.config.maxInFlight,
      groupId: DELIVERY_GROUP,
      service: 'webhooks',
      work: TOPICS.webhookDeliveries,
      delays: WEBHOOK_DELAY_TOPICS,
      logger: this.logger,
      perform: (task) => this.perform(task),
      recordFailure: (task, error) => this.recordFailure(task, error),
    });
  }

  private async perform(task: WebhookDeliveryTask): Promise<Output[]> {
    const endpoint = await this.directory.get(task.endpointId);
    if (!endpoint || endpoint.tenantId !== task.tenantId) {
      return this.drop(task, 'the endpoint was deleted');
    }
    if (!endpoint.enabled) {
      return this.drop(task, `the endpoint is disabled (${endpoint.disabledReason ?? 'user'})`);
    }

    const key = `${task.deliveryId}:${task.run}:${task.attempt}`;
    const handedOff = this.calls.take(key);
    if (handedOff) {
      if (handedOff.settled || Date.now() >= handedOff.settledBy) {
        return this.record(task, endpoint, await handedOff.result);
      }
      return this.handOff(key, task, handedOff);
    }

    const budget = this.calls.budgetFor(endpoint.id);
    if (!(await this.calls.acquire(endpoint.id, budget))) {
      webhookMetrics.deferred.inc();
      return [
        await scheduleTask(this.codec, TOPICS.webhookDeliveries.name, {
          ...task,
          dueAt: Date.now() + BUSY_ENDPOINT_WAIT_MS,
        }),
      ];
    }
    const call = this.calls.start(endpoint.id, () =>
      deliverWebhook(
        {
          url: endpoint.url,
          deliveryId: task.deliveryId,
          body: task.payload,
          secrets: signingSecrets(endpoint, Date.now()),
        },
        this.config.webhooks.timeoutMs,
      ),
    );
    const result = await this.calls.within(call, budget);
    if (result) return this.record(task, endpoint, result);

    webhookMetrics.handedOff.inc();
    return this.handOff(key, task, call);
  }

  /** The call goes on; its task comes back to record it (see EndpointCalls). */
  private async handOff(key: string, task: WebhookDeliveryTask, call: EndpointCall) {
    this.calls.handOff(key, call);
    const dueAt = this.calls.recheckAt(call);
    return [await scheduleTask(this.codec, TOPICS.webhookDeliveries.name, { ...task, dueAt })];
  }

  /** A task whose handling kept failing inside Herald: a failed attempt, retried on the schedule. */
  private recordFailure(task: WebhookDeliveryTask, fault: unknown): Promise<Output[]> {
    const now = Date.now();
    const result: WebhookCallResult = {
      ok: false,
      status: null,
      error: { code: 'internal', message: errorMessage(fault) },
      retryAfterMs: null,
      log: null,
      startedAt: now,
      finishedAt: now,
    };
    return this.outputs(
      this.decide(
        task,
        { failingSince: null, id: task.endpointId, tenantId: task.tenantId },
        result,
      ),
    );
  }

  private async drop(task: WebhookDeliveryTask, reason: string): Promise<Output[]> {
    webhookMetrics.deliveries.inc({ outcome: 'dropped' });
    return [
      await deliveryEventOutput(this.codec, droppedDelivery(task, reason, Date.now(), randomUUID)),
    ];
  }

  private decide(
    task: WebhookDeliveryTask,
    endpoint: Pick<WebhookEndpoint, 'id' | 'tenantId' | 'failingSince'>,
    result: WebhookCallResult,
  ): AttemptDecision {
    return afterWebhookAttempt(task, result, endpoint, {
      timeScale: this.config.timeScale,
      random: Math.random,
      newId: randomUUID,
    });
  }

  private async record(
    task: WebhookDeliveryTask,
    endpoint: WebhookEndpoint,
    result: WebhookCallResult,
  ): Promise<Output[]> {
    const decision = this.decide(task, endpoint, result);
    webhookMetrics.callDuration.observe((result.finishedAt - result.startedAt) / 1000);
    webhookMetrics.deliveries.inc({
      outcome: result.ok ? 'succeeded' : decision.retry ? 'retrying' : 'failed',
    });
    if (result.ok) {
      webhookMetrics.latency.observe(
        Math.max(0, result.finishedAt - task.messageOccurredAt) / 1000,
      );
    }
    // The endpoint's own state, before the events: a redo after a crash repeats these
    // idempotent writes rather than missing them.
    if (decision.failingSince === null) await this.endpoints.markHealthy(endpoint.id);
    else if (decision.failingSince !== undefined) {
      await this.endpoints.markFailing(endpoint.id, decision.failingSince);
    }
    if (decision.disable) {
      if (await this.endpoints.disable(endpoint.id, decision.disable.reason, result.finishedAt)) {
        webhookMetrics.endpointsDisabled.inc({ reason: decision.disable.reason });
        this.logger.warn(`disabled endpoint ${endpoint.id}: ${decision.disable.message}`);
      }
    }
    if (decision.failingSince !== undefined || decision.disable) this.directory.forget(endpoint);
    return this.outputs(decision);
  }

  private async outputs(decision: AttemptDecision): Promise<Output[]> {
    const outputs: Output[] = [];
    for (const event of decision.events) outputs.push(await deliveryEventOutput(this.codec, event));
    if (decision.retry) {
      outputs.push(await scheduleTask(this.codec, TOPICS.webhookDeliveries.name, decision.retry));
    }
    return outputs;
  }
}
