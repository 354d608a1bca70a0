import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import {
  decideCancel,
  decideResend,
  type ControlledMessage,
  type DeliveryTask,
} from '@herald/decisions';
import {
  readRecordAt,
  eventOutput,
  scheduleTask,
  withinSendDeadline,
  TransactionalCommitter,
  writeHealth,
  type Output,
} from '@herald/kafka';
import {
  withRequestDefaults,
  type DeliveryStatus,
  type MessageEvent,
  type MessageRequested,
} from '@herald/messages';
import { messageActions } from '@herald/read-model';
import { MessageClaims, MessageControls, ReadModelStore } from '@herald/mongo';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, MONGO_DB, POLICIES } from './tokens';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';

/** How long a cancel that asked the sender waits to see its answer in the read model. */
export const CANCEL_WAIT_MS = 2_000;
const POLL_MS = 100;

export type CancelResult =
  | { kind: 'not_found' }
  | { kind: 'canceled' }
  | { kind: 'too_late'; status: DeliveryStatus }
  /** Asked of the sender holding the task; binding, not yet seen in the read model. */
  | { kind: 'requested' };

export type ResendResult =
  | { kind: 'not_found' }
  | { kind: 'not_resendable'; status: DeliveryStatus }
  /** The original request is gone from herald.messages.requested (past its retention). */
  | { kind: 'content_unavailable' }
  /** Another resend (or cancel) claimed the message's next event first. */
  | { kind: 'conflict' }
  | { kind: 'resent'; repeated: boolean };

/**
 * Cancel and resend, the API's side (the decisions are in @herald/decisions, controls.ts).
 * The API writes a message's event itself only after claiming its seq in the message's
 * control; otherwise it asks the sender holding the task, through the same control.
 */
@Injectable()
export class MessageControlsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly controls: MessageControls;
  private readonly claims: MessageClaims;
  private readonly readModel: ReadModelStore;
  private readonly committer: TransactionalCommitter;

  constructor(
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(MONGO_DB) db: Db,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {
    this.controls = new MessageControls(db);
    this.claims = new MessageClaims(db);
    this.readModel = new ReadModelStore(db);
    // The resend's event and its first task go in one transaction: both or neither. The id
    // names the service too: ingest and the dashboard both serve controls, and one instance's
    // producer must never fence the other's.
    const group = `herald-${config.service}-controls`;
    this.committer = new TransactionalCommitter(kafka, group, `${group}-${config.instanceId}`);
  }

  async cancel(tenantId: string, messageId: string): Promise<CancelResult> {
    const message =
      (await this.readModel.message(tenantId, messageId)) ??
      (await this.justAccepted(tenantId, messageId));
    if (!message) return { kind: 'not_found' };
    const decision = decideCancel(message, { now: Date.now(), newId: randomUUID });
    switch (decision.kind) {
      case 'too_late':
        return { kind: 'too_late', status: decision.status };
      case 'already_canceled':
        return { kind: 'canceled' };
      case 'claim':
        return this.claimCancel(decision.event);
      case 'request': {
        const asked = await this.controls.requestCancel(tenantId, messageId, Date.now());
        if (asked === 'already_canceled') return { kind: 'canceled' };
        return this.awaitCancel(tenantId, messageId);
      }
    }
  }

  async resend(
    tenantId: string,
    messageId: string,
    idempotencyKey: string | null,
  ): Promise<ResendResult> {
    if (idempotencyKey !== null) {
      const control = await this.controls.find(tenantId, messageId);
      if (control?.idempotencyKeys?.includes(idempotencyKey)) {
        return { kind: 'resent', repeated: true };
      }
    }
    const message = await this.readModel.message(tenantId, messageId);
    if (!message) return { kind: 'not_found' };
    if (!messageActions(message.status).resend) {
      return { kind: 'not_resendable', status: message.status };
    }
    const request = await this.originalRequest(tenantId, messageId);
    if (!request) return { kind: 'content_unavailable' };
    const decision = decideResend(message, request, {
      now: Date.now(),
      newId: randomUUID,
      policies: this.policies,
    });
    if (decision.kind === 'not_resendable') return decision;
    const claimed = await this.controls.claim(
      tenantId,
      messageId,
      { state: 'resent', seq: decision.event.seq, event: null, idempotencyKey },
      Date.now(),
    );
    if (!claimed) {
      // A double click may have raced itself: the first claim carries the same key.
      const control = await this.controls.find(tenantId, messageId);
      if (idempotencyKey !== null && control?.idempotencyKeys?.includes(idempotencyKey)) {
        return { kind: 'resent', repeated: true };
      }
      return { kind: 'conflict' };
    }
    await this.write([
      await eventOutput(this.codec, decision.event),
      await scheduleTask(this.codec, TOPICS.deliveries.name, decision.task satisfies DeliveryTask),
    ]);
    await this.controls.markEmitted(tenantId, messageId, decision.event.seq);
    return { kind: 'resent', repeated: false };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.committer.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.committer.disconnect();
  }

  /** The retry waits in a delay tier: claim its seq, then write the `canceled` ourselves. */
  private async claimCancel(event: MessageEvent): Promise<CancelResult> {
    if (await this.claimed(event)) return { kind: 'canceled' };
    // Someone else wrote that seq first: this very cancel sent twice, or a resend.
    const control = await this.controls.find(event.tenantId, event.messageId);
    if (control?.state === 'canceled') return { kind: 'canceled' };
    return this.awaitCancel(event.tenantId, event.messageId);
  }

  /** Claims the event's seq and writes it: false when another writer claimed it first. */
  private async claimed(event: MessageEvent): Promise<boolean> {
    const claimed = await this.controls.claim(
      event.tenantId,
      event.messageId,
      { state: 'canceled', seq: event.seq, event, idempotencyKey: null },
      Date.now(),
    );
    if (!claimed) return false;
    await this.write([await eventOutput(this.codec, event)]);
    await this.controls.markEmitted(event.tenantId, event.messageId, event.seq);
    return true;
  }

  /**
   * Watches the read model for the sender's answer to a cancel request, for a moment. If the
   * message meanwhile went to wait in a delay tier (the sender's call ended in a retry just
   * before it saw the request), the API claims the cancel itself rather than leave the message
   * looking pending until that retry comes due.
   */
  private async awaitCancel(tenantId: string, messageId: string): Promise<CancelResult> {
    const deadline = Date.now() + CANCEL_WAIT_MS;
    for (;;) {
      const message = await this.readModel.message(tenantId, messageId);
      if (message) {
        const decision = decideCancel(message, { now: Date.now(), newId: randomUUID });
        if (decision.kind === 'already_canceled') return { kind: 'canceled' };
        if (decision.kind === 'too_late') return decision;
        if (decision.kind === 'claim' && (await this.claimed(decision.event))) {
          return { kind: 'canceled' };
        }
      }
      if (Date.now() >= deadline) return { kind: 'requested' };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /**
   * The request as ingest took it in, read back from herald.messages.requested (the claim says
   * where): null once the topic's retention (7 days) has deleted it.
   */
  private async originalRequest(
    tenantId: string,
    messageId: string,
  ): Promise<MessageRequested | null> {
    const source = await this.claims.source(tenantId, messageId);
    if (!source) return null;
    const record = await readRecordAt(this.kafka, source);
    if (!record?.value) return null;
    const request = withRequestDefaults(
      (await this.codec.decode(record.value)) as MessageRequested,
    );
    // The claim's record is this message's, unless the topic was recreated since.
    return request.tenantId === tenantId && request.messageId === messageId ? request : null;
  }

  /**
   * A message ingest took in that the read model does not show yet (the projector is a moment
   * behind): it is queued, as far as a cancel is concerned.
   */
  private async justAccepted(
    tenantId: string,
    messageId: string,
  ): Promise<ControlledMessage | null> {
    if (!(await this.claims.isClaimed(tenantId, messageId))) return null;
    return { tenantId, messageId, status: 'queued', seq: 1, nextAttemptAt: null, attempts: 0 };
  }

  /** One Kafka transaction, bounded like POST /v1/messages's publish. */
  private async write(outputs: Output[]): Promise<void> {
    await writeHealth.track('kafka', () => withinSendDeadline(this.committer.commit(outputs, [])));
  }
}
