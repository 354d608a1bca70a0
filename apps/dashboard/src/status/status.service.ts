import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Db } from 'mongodb';
import { Counter } from 'prom-client';
import type { HeraldConfig } from '@herald/config';
import { errorMessage, isTransientDecodeError, pingKafka } from '@herald/kafka';
import type { MessageEvent } from '@herald/messages';
import { pingMongo } from '@herald/mongo';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA, KAFKA_ADMIN, MONGO_DB } from '@herald/platform';
import { registryAuthHeaders, type AvroCodec } from '@herald/schema-registry';
import {
  MINUTE_MS,
  openIncidents,
  safeDetail,
  SERVICE_COMPONENTS,
  StatusWindow,
  statusReport,
  TRAFFIC_WINDOW_MINUTES,
  type ComponentKind,
  type ComponentName,
  type ComponentState,
  type Incident,
  type StatusReport,
} from '@herald/status-window';
import { TOPICS } from '@herald/topics';

export type { StatusReport } from '@herald/status-window';

/**
 * A killed service must show down within 10 s of it to whoever watches: probed every 2 s, each
 * probe given 1 s, while the page has been looked at in the last WATCHED_FOR_MS. Nobody
 * watching, a round every IDLE_PROBE_EVERY_MS keeps incidents' start times roughly right for
 * much less: each round calls every service, the broker, the registry and the database.
 */
export const PROBE_EVERY_MS = 2_000;
const WATCHED_FOR_MS = 5 * 60_000;
const IDLE_PROBE_EVERY_MS = 30_000;
export const PROBE_TIMEOUT_MS = 1_000;
/** After the consumer gives up (Kafka gone for long), how long before reading starts again. */
const RESTART_READING_AFTER_MS = 5_000;
/** Bound on the admin calls made while starting or leaving (Kafka may be the thing that is down). */
const ADMIN_CALL_TIMEOUT_MS = 10_000;
/** A readiness answer is a few hundred bytes; more is not a Herald service answering. */
const PROBE_BODY_LIMIT = 16 * 1024;
const HEARTBEAT_EVERY_RECORDS = 500;

const TOPIC = TOPICS.messageEvents.name;

const skippedRecords = new Counter({
  name: 'herald_dashboard_status_skipped_records_total',
  help: 'Records of herald.message-events the status page could not read (undecodable), skipped',
});

interface ComponentProbe {
  name: ComponentName;
  kind: ComponentKind;
  /** Resolves with what "up" looks like for it; rejects with why it is down. */
  run(signal: AbortSignal): Promise<string>;
}

/**
 * The status page's data, gathered by this process on its own: it probes every Herald service
 * and server, and reads herald.message-events into a StatusWindow (last hour, in memory).
 * Neither depends on the other: with Kafka down the probes go on (showing kafka down) and
 * report() answers from what was read so far.
 */
@Injectable()
export class StatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Status');
  private readonly window = new StatusWindow();
  private readonly states = new Map<ComponentName, ComponentState>();
  private readonly probing = new Set<ComponentName>();
  private readonly probes: ComponentProbe[];
  /** What to keep out of every detail, whatever an error quotes. */
  private readonly secrets: string[];
  private readonly startedAt = Date.now();
  private incidents: Incident[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  private lastProbedAt = 0;
  private lastViewedAt = 0;

  private consumer: Consumer | null = null;
  private groupId: string | null = null;
  /** Where reading starts on each partition the first time: the offsets for an hour ago. */
  private startOffsets = new Map<number, string>();
  /** The next offset to read on each partition, so a consumer started over reads on from it. */
  private readonly positions = new Map<number, string>();
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private skipped = 0;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(MONGO_DB) private readonly db: Db,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
  ) {
    this.probes = [
      ...SERVICE_COMPONENTS.map((name): ComponentProbe => ({
        name,
        kind: 'service',
        run: (signal) => probeService(config.dashboard.statusServices[name], signal),
      })),
      { name: 'kafka', kind: 'server', run: () => pingKafka(admin).then(() => 'answering') },
      {
        name: 'schema-registry',
        kind: 'server',
        run: (signal) => probeRegistry(config, signal),
      },
      { name: 'mongodb', kind: 'server', run: () => pingMongo(db).then(() => 'answering') },
    ];
    this.secrets = [
      config.kafka.sasl?.password,
      config.schemaRegistryAuth?.password,
      passwordIn(config.mongodbUri),
      ...Object.values(config.dashboard.statusServices).map(passwordIn),
    ].filter((secret): secret is string => typeof secret === 'string' && secret !== '');
  }

  async onApplicationBootstrap(): Promise<void> {
    // One round before the first page (each probe bounded by 1 s), so it never shows guesses.
    await this.probeAll();
    this.probeTimer = setInterval(() => {
      if (this.probeDue(Date.now())) void this.probeAll();
    }, PROBE_EVERY_MS);
    this.probeTimer.unref();
    // Not awaited: the page answers (components first) while the last hour is being read.
    void this.startReading();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.probeTimer);
    clearTimeout(this.restartTimer);
    await this.closeConsumer();
  }

  /** The status as of `now`: what /status.json answers and /status shows. */
  report(now = Date.now()): StatusReport {
    // Someone is looking: back to a round every 2 s, starting now if the last is older.
    this.lastViewedAt = now;
    if (now - this.lastProbedAt >= PROBE_EVERY_MS) void this.probeAll();
    const components = this.components(now);
    const window = this.window.snapshot(now);
    this.incidents = openIncidents({ components, providers: window.providers }, this.incidents);
    return statusReport({ now, components, window, incidents: this.incidents });
  }

  /** Records of the events topic skipped as undecodable since start. */
  get skippedRecords(): number {
    return this.skipped;
  }

  // ── Probes ────────────────────────────────────────────────────────────────────────────────

  /** Whether a probe round is due: every 2 s while watched, every 30 s otherwise. */
  private probeDue(now: number): boolean {
    const every = now - this.lastViewedAt < WATCHED_FOR_MS ? PROBE_EVERY_MS : IDLE_PROBE_EVERY_MS;
    // A little early rather than a whole tick late: the timer and the rounds drift apart.
    return now - this.lastProbedAt >= every - PROBE_EVERY_MS / 4;
  }

  private async probeAll(): Promise<void> {
    this.lastProbedAt = Date.now();
    await Promise.all(this.probes.map((probe) => this.probeOne(probe)));
    // Evaluated every round, not only when someone looks, so an incident's start holds.
    const now = Date.now();
    this.incidents = openIncidents(
      { components: this.components(now), providers: this.window.providers(now) },
      this.incidents,
    );
  }

  private async probeOne(probe: ComponentProbe): Promise<void> {
    if (this.probing.has(probe.name)) {
      // Still waiting on an earlier probe that outlived its second (a hung MongoDB socket, say):
      // not asked again meanwhile, so hung calls cannot pile up; it stays down, checked now.
      const last = this.states.get(probe.name);
      this.observe(probe, false, last?.detail ?? noAnswer(), Date.now());
      return;
    }
    this.probing.add(probe.name);
    const call = probe.run(AbortSignal.timeout(PROBE_TIMEOUT_MS)).finally(() => {
      this.probing.delete(probe.name);
    });
    try {
      const detail = await withTimeout(call, PROBE_TIMEOUT_MS);
      this.observe(probe, true, detail, Date.now());
    } catch (error) {
      this.observe(probe, false, failureDetail(error), Date.now());
    }
  }

  private observe(probe: ComponentProbe, up: boolean, detail: string, now: number): void {
    const state = up ? 'up' : 'down';
    const previous = this.states.get(probe.name);
    this.states.set(probe.name, {
      name: probe.name,
      kind: probe.kind,
      state,
      since: previous?.state === state ? previous.since : now,
      checkedAt: now,
      detail: safeDetail(detail, this.secrets),
    });
  }

  private components(now: number): ComponentState[] {
    return this.probes.map(
      (probe) =>
        this.states.get(probe.name) ?? {
          name: probe.name,
          kind: probe.kind,
          state: 'down',
          since: this.startedAt,
          checkedAt: now,
          detail: 'not checked yet',
        },
    );
  }

  // ── Traffic: reading herald.message-events ────────────────────────────────────────────────

  /**
   * A consumer of its own in a throwaway group (unique per start, so it never takes partitions
   * from anyone else or shares their offsets), reading from an hour ago. It commits nothing:
   * where it is lives in `positions`, and every (re)join seeks there, so a consumer that
   * kafkajs restarted after a lost broker reads on instead of jumping to the end; nor does it
   * leave committed offsets behind for Kafka to keep (a group without them goes when empty).
   */
  private async startReading(): Promise<void> {
    if (this.stopping) return;
    try {
      if (this.startOffsets.size === 0) {
        const since = Date.now() - TRAFFIC_WINDOW_MINUTES * MINUTE_MS;
        const offsets = await withTimeout(
          this.admin.fetchTopicOffsetsByTimestamp(TOPIC, since),
          ADMIN_CALL_TIMEOUT_MS,
        );
        this.startOffsets = new Map(offsets.map(({ partition, offset }) => [partition, offset]));
        this.window.coverFrom(since);
      }
      const groupId = `herald-dashboard-status-${this.config.instanceId}-${randomUUID()}`;
      const consumer = this.kafka.consumer({ groupId, readUncommitted: false });
      this.consumer = consumer;
      this.groupId = groupId;
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        // Synchronous, inside the join: the seeks apply before the first fetch.
        for (const partition of payload.memberAssignment[TOPIC] ?? []) {
          const offset = this.positions.get(partition) ?? this.startOffsets.get(partition);
          if (offset !== undefined) consumer.seek({ topic: TOPIC, partition, offset });
        }
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // kafkajs restarts by itself after retriable errors; after any other it stops for good.
        this.logger.warn(`traffic: the events consumer stopped: ${payload.error.message}`);
        if (!payload.restart) this.restartReadingLater();
      });
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        // Resolved here, record by record: a batch cut short (stopping, or a seek) is not
        // marked read past where it was.
        eachBatchAutoResolve: false,
        eachBatch: (batch) => this.fold(batch),
      });
    } catch (error) {
      this.logger.warn(
        `traffic: cannot read ${TOPIC} (${errorMessage(error)}); trying again in ` +
          `${RESTART_READING_AFTER_MS / 1000} s`,
      );
      this.restartReadingLater();
    }
  }

  private restartReadingLater(): void {
    if (this.stopping || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.closeConsumer().then(() => this.startReading());
    }, RESTART_READING_AFTER_MS);
    this.restartTimer.unref();
  }

  private async closeConsumer(): Promise<void> {
    const { consumer, groupId } = this;
    this.consumer = null;
    this.groupId = null;
    if (!consumer) return;
    await consumer.disconnect().catch(() => undefined);
    if (groupId) {
      await withTimeout(this.admin.deleteGroups([groupId]), ADMIN_CALL_TIMEOUT_MS).catch(
        () => undefined, // tidiness only: an empty group without offsets goes by itself
      );
    }
  }

  private async fold({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> {
    let sinceHeartbeat = 0;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      await this.foldOne(message, batch.partition);
      this.positions.set(batch.partition, (BigInt(message.offset) + 1n).toString());
      resolveOffset(message.offset);
      if (++sinceHeartbeat >= HEARTBEAT_EVERY_RECORDS) {
        sinceHeartbeat = 0;
        await heartbeat();
      }
    }
    // Past trailing transaction markers too, so neither kafkajs nor a rejoin reads them again.
    resolveOffset(batch.lastOffset());
    this.positions.set(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
  }

  private async foldOne(message: KafkaMessage, partition: number): Promise<void> {
    const value = message.value ?? Buffer.alloc(0);
    let event: MessageEvent;
    try {
      // Read into the current schema, so records from before a field existed get its default.
      event = await this.codec.decode<MessageEvent>(value, TOPICS.messageEvents.valueSchema);
    } catch (error) {
      const schemaId = value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : undefined;
      // The registry could not be asked just now: the record is fine. Thrown, kafkajs retries
      // the batch from this record (and, after its retries, restarts; the rejoin seeks here).
      if (isTransientDecodeError(error, schemaId)) throw error;
      this.skip(partition, message.offset, errorMessage(error));
      return;
    }
    try {
      this.window.record(event, Date.now());
    } catch (error) {
      // The window is pure and total over decoded events; should it ever throw, one record
      // must not stop the page's traffic for good (it would be retried for ever).
      this.skip(partition, message.offset, errorMessage(error));
    }
  }

  private skip(partition: number, offset: string, reason: string): void {
    this.skipped += 1;
    skippedRecords.inc();
    // The first, then every thousandth: a topic full of bad records must not flood the log.
    if (this.skipped === 1 || this.skipped % 1000 === 0) {
      this.logger.warn(
        `traffic: skipped ${TOPIC}/${partition}@${offset} (${this.skipped} skipped so far): ${reason}`,
      );
    }
  }
}

/**
 * A Herald service's readiness. Plain fetch, not the providers' call layer: that layer's
 * network guard refuses loopback and private addresses, which is right for URLs a tenant
 * chooses and wrong here. These URLs are the operator's configuration (HERALD_STATUS_SERVICES,
 * by default each service's port on 127.0.0.1), never a tenant's input, and nothing of the
 * answer but its status and the names of failing checks is kept.
 */
async function probeService(baseUrl: string | undefined, signal: AbortSignal): Promise<string> {
  if (!baseUrl) throw new ProbeFailure('no URL configured (HERALD_STATUS_SERVICES)');
  const response = await fetch(`${baseUrl}/health/ready`, { signal, redirect: 'manual' });
  const body = await readSome(response, PROBE_BODY_LIMIT);
  if (response.ok) return 'ready';
  throw new ProbeFailure(`answered ${response.status}${notReadyBecause(body)}`);
}

/** The registry as readiness checks it (libs/edge/platform/src/health.controller.ts). */
async function probeRegistry(config: HeraldConfig, signal: AbortSignal): Promise<string> {
  const response = await fetch(`${config.schemaRegistryUrl}/subjects`, {
    headers: registryAuthHeaders(config.schemaRegistryAuth),
    signal,
    redirect: 'manual',
  });
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new ProbeFailure(`GET /subjects answered ${response.status}`);
  return 'answering';
}

/** At most `limit` bytes of the body, as text; the rest is not read. */
async function readSome(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** From a 503 of /health/ready: "shutting down", or the names of the checks that failed. */
export function notReadyBecause(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  if (typeof parsed !== 'object' || parsed === null) return '';
  const { status, checks } = parsed as { status?: unknown; checks?: unknown };
  if (status === 'shutting_down') return ' (shutting down)';
  if (typeof checks !== 'object' || checks === null) return '';
  // Names only (kafka, schemaRegistry, mongodb): the errors may quote addresses and more.
  const failing = Object.entries(checks as Record<string, { status?: unknown }>)
    .filter(([name, check]) => /^[A-Za-z-]{1,32}$/.test(name) && check?.status === 'down')
    .map(([name]) => name);
  return failing.length > 0 ? ` (not ready: ${failing.join(', ')})` : '';
}

class ProbeFailure extends Error {}

class ProbeTimeout extends Error {}

function noAnswer(): string {
  return `no answer within ${PROBE_TIMEOUT_MS} ms`;
}

/** Why a probe failed, in a few words: never the URL (the detail is public). */
export function failureDetail(error: unknown): string {
  if (error instanceof ProbeFailure) return error.message;
  if (error instanceof ProbeTimeout) return noAnswer();
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return noAnswer();
  // fetch's "fetch failed" says nothing; its cause (ECONNREFUSED, "bad port"…) says it all.
  if (e?.message === 'fetch failed') {
    const why = e.cause?.code ?? e.cause?.message;
    return why ? `unreachable (${why})` : 'unreachable';
  }
  return e?.message ?? String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The password of a URL's userinfo (mongodb://user:pass@host), to keep out of details. */
function passwordIn(url: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^@/]*)@/i.exec(url);
  const userinfo = match?.[1];
  if (!userinfo?.includes(':')) return undefined;
  const password = userinfo.slice(userinfo.indexOf(':') + 1);
  try {
    return decodeURIComponent(password);
  } catch {
    return password;
  }
}
