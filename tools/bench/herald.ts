/**
 * Herald under load, as the benchmark runs it: the four services and the provider simulator as
 * real processes (node dist/apps/<app>/main.js), requests produced as Avro on
 * herald.messages.requested exactly as any client would, and progress read from the
 * projector's Prometheus metrics.
 */

import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import type { ServiceName } from '@herald/config';
import type { MessageRequested } from '@herald/messages';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { DELIVERY_DELAY_TOPICS, STATUS_CHECK_DELAY_TOPICS, TOPICS } from '@herald/topics';
import {
  freePort,
  isRunning,
  outputTail,
  peakRss,
  startService,
  stopService,
  waitUntilReady,
  type RunningService,
} from '@tools/harness';
import { CpuWindow, type CpuUsage } from './cpu-usage';
import { formatInt } from './stats';

/** Started together, one instance each. */
export const SERVICES: readonly ServiceName[] = ['ingest', 'sender', 'status-checker', 'projector'];

/** Per process, as HERALD_MAX_IN_FLIGHT; the baselines get the same concurrency. */
export const MAX_IN_FLIGHT = 512;
/** Partitions a consumer works on at once, as HERALD_PARTITION_CONCURRENCY. */
export const PARTITION_CONCURRENCY = 12;

/**
 * BENCH_CPU_PROFILE=1: each process writes a V8 CPU profile (open it in Chrome DevTools or
 * speedscope) beside its log when it stops.
 */
function cpuProfileArgs(logFile: string): string[] {
  return process.env.BENCH_CPU_PROFILE === '1'
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${dirname(logFile)}`,
        `--cpu-prof-name=${basename(logFile, '.log')}.cpuprofile`,
      ]
    : [];
}

/** Stops a process and resolves with its peak RSS, read just before the stop. */
export async function stopBenchProcess(service: RunningService): Promise<number> {
  const rss = peakRss(service.process.pid);
  await stopService(service);
  return rss;
}

export interface Servers {
  brokers: string[];
  registryUrl: string;
  /** The run's own database, e.g. mongodb://127.0.0.1:27017/herald_bench_<run>. */
  mongoUri: string;
}

// ---------------------------------------------------------------------------------------------
// The provider simulator

export interface SimulatorProcess extends RunningService {
  url: string;
}

/**
 * Recording costs the simulator memory and time per request, so only the retry-precision run,
 * which reads the recordings, turns it on.
 */
export async function startSimulator(options: {
  logDir: string;
  label: string;
  recording: boolean;
}): Promise<SimulatorProcess> {
  const port = await freePort();
  const env = {
    PROVIDER_SIM_HOST: '127.0.0.1',
    PROVIDER_SIM_APNS_PORT: String(await freePort()),
    PROVIDER_SIM_SMTP_PORT: String(await freePort()),
    PROVIDER_SIM_MAX_RECORDED: options.recording ? '100000' : '0',
    PROVIDER_SIM_LATENCY_MS: '0',
  };
  const logFile = join(options.logDir, `provider-sim-${options.label}.log`);
  const sim = await startService('provider-sim', {
    env,
    port,
    logFile,
    nodeArgs: cpuProfileArgs(logFile),
  });
  try {
    await waitUntilReady(sim, 30_000);
  } catch (error) {
    await stopService(sim);
    throw error;
  }
  return { ...sim, url: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Samples of a Prometheus text exposition, keyed `name{label="value",...}` (labels sorted). */
export type Metrics = Map<string, number>;

export function parsePrometheus(text: string): Metrics {
  const metrics: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    metrics.set(seriesKey(match[1], parseLabels(match[2] ?? '')), Number(match[3]));
  }
  return metrics;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    if (match[1] !== undefined) labels[match[1]] = match[2] ?? '';
  }
  return labels;
}

function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** A sample's value, or `fallback` when the series does not exist (yet). */
export function sample(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
  fallback = NaN,
): number {
  return metrics.get(seriesKey(name, labels)) ?? fallback;
}

export const APPLIED = 'herald_projector_events_applied_total';
export const PROJECTION_LAG = 'herald_projector_projection_lag_seconds';
export const REQUEST_TO_SENT = 'herald_projector_request_to_sent_seconds';

export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

/** A prom-client summary's quantiles, in milliseconds. */
export function summaryMs(metrics: Metrics, name: string): Quantiles {
  const at = (quantile: string): number => sample(metrics, name, { quantile }) * 1000;
  return {
    p50: at('0.5'),
    p95: at('0.95'),
    p99: at('0.99'),
    count: sample(metrics, `${name}_count`),
  };
}

/** Events of every type the projector has applied. */
export function appliedTotal(metrics: Metrics): number {
  let total = 0;
  for (const [key, value] of metrics) if (key.startsWith(`${APPLIED}{`)) total += value;
  return total;
}

export function sentCount(metrics: Metrics): number {
  return sample(metrics, APPLIED, { type: 'sent' }, 0);
}

// ---------------------------------------------------------------------------------------------
// The services

export class HeraldServices {
  private constructor(
    readonly scenario: string,
    readonly processes: ReadonlyMap<ServiceName, RunningService>,
  ) {}

  /** Starts one instance of each service and waits until every one answers /health/ready. */
  static async start(options: {
    servers: Servers;
    runId: string;
    scenario: string;
    logDir: string;
    env?: Record<string, string>;
  }): Promise<HeraldServices> {
    const processes = new Map<ServiceName, RunningService>();
    for (const name of SERVICES) {
      const port = await freePort();
      const env: Record<string, string> = {
        KAFKA_BROKERS: options.servers.brokers.join(','),
        SCHEMA_REGISTRY_URL: options.servers.registryUrl,
        MONGODB_URI: options.servers.mongoUri,
        HERALD_HTTP_HOST: '127.0.0.1',
        // Stable per service across the run's scenarios: a restarted instance fences its
        // predecessor's transactions at once.
        HERALD_INSTANCE_ID: `bench-${options.runId}-${name}`,
        HERALD_TIME_SCALE: '1',
        HERALD_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        HERALD_PARTITION_CONCURRENCY: String(PARTITION_CONCURRENCY),
        ...options.env,
      };
      const logFile = join(options.logDir, `${name}-${options.scenario}.log`);
      processes.set(
        name,
        await startService(name, { env, port, logFile, nodeArgs: cpuProfileArgs(logFile) }),
      );
    }
    const services = new HeraldServices(options.scenario, processes);
    try {
      await Promise.all([...processes.values()].map((process) => waitUntilReady(process)));
    } catch (error) {
      await services.stop();
      throw error;
    }
    return services;
  }

  port(name: ServiceName): number {
    const process = this.processes.get(name);
    if (!process) throw new Error(`${name} is not running`);
    return process.port;
  }

  /** Throws naming the service (with its log) if any has exited. */
  assertRunning(): void {
    for (const process of this.processes.values()) {
      if (!isRunning(process)) {
        throw new Error(
          `${process.name} exited during ${this.scenario}; last lines of ${process.logFile}:\n` +
            outputTail(process),
        );
      }
    }
  }

  async metricsText(name: ServiceName = 'projector'): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port(name)}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${name} /metrics answered ${response.status}`);
    return text;
  }

  async metrics(name: ServiceName = 'projector'): Promise<Metrics> {
    return parsePrometheus(await this.metricsText(name));
  }

  /** Fails early, with a clear message, when the projector predates its metrics. */
  async assertProjectorMetrics(): Promise<void> {
    const text = await this.metricsText('projector');
    for (const name of [APPLIED, PROJECTION_LAG, REQUEST_TO_SENT]) {
      if (!text.includes(`# TYPE ${name} `)) {
        throw new Error(
          `the projector's /metrics has no ${name}: dist/apps/projector is older than its metrics ` +
            '(run `npm run build`)',
        );
      }
    }
  }

  /**
   * What the services' logs say went wrong during the scenario, counted: failed batches (which
   * kafkajs retries with back-off), MongoDB lock conflicts, concurrent-transaction retries.
   */
  logFindings(): string | undefined {
    const patterns: Array<[string, RegExp]> = [
      ['failed batches', /Error when calling each(Batch|Message)/g],
      ['SQLITE_BUSY', /SQLITE_BUSY/g],
      ['concurrent-transaction retries', /concurrent operation on the same transaction/g],
      ['crashes', /Crash: /g],
    ];
    const found: string[] = [];
    for (const [name, process] of this.processes) {
      const text = process.output();
      const counts = patterns
        .map(([label, re]) => [label, text.match(re)?.length ?? 0] as const)
        .filter(([, count]) => count > 0)
        .map(([label, count]) => `${count} ${label}`);
      if (counts.length > 0) found.push(`${name}: ${counts.join(', ')}`);
    }
    return found.length > 0 ? found.join('; ') : undefined;
  }

  /** Peak RSS of each service (read before stopping it), in bytes. */
  async stop(): Promise<Map<ServiceName, number>> {
    const entries = await Promise.all(
      [...this.processes].map(
        async ([name, process]) => [name, await stopBenchProcess(process)] as const,
      ),
    );
    return new Map(entries);
  }
}

// ---------------------------------------------------------------------------------------------
// Load

export interface EncodedRequest {
  key: string;
  value: Buffer;
}

/** Produces MessageRequested records on herald.messages.requested, Avro-encoded via the registry. */
export class RequestProducer {
  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly codec: AvroCodec,
  ) {}

  static async connect(servers: Servers): Promise<RequestProducer> {
    const kafka = new Kafka({
      clientId: 'herald-bench',
      brokers: servers.brokers,
      logLevel: logLevel.ERROR,
    });
    const codec = AvroCodec.connect(servers.registryUrl, resolveSchemaDir());
    // Registers (or finds) the schema the services register, and learns its id.
    await codec.register([TOPICS.messagesRequested]);
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    return new RequestProducer(kafka, producer, codec);
  }

  get client(): Kafka {
    return this.kafka;
  }

  get avro(): AvroCodec {
    return this.codec;
  }

  async encode(request: MessageRequested): Promise<EncodedRequest> {
    return {
      key: request.messageId,
      value: await this.codec.encode(TOPICS.messagesRequested.name, request),
    };
  }

  /** Sends in chunks, a few in flight, each acknowledged by all in-sync replicas. */
  async send(records: readonly EncodedRequest[], chunk = 1000, inFlight = 4): Promise<void> {
    const chunks: EncodedRequest[][] = [];
    for (let i = 0; i < records.length; i += chunk) chunks.push(records.slice(i, i + chunk));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const messages = chunks[next++];
        if (!messages) break;
        await this.producer.send({ topic: TOPICS.messagesRequested.name, acks: -1, messages });
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, chunks.length) }, worker));
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

export function webhookRequest(fields: {
  messageId: string;
  tenantId: string;
  recipient: string;
  retryPolicy?: string | null;
}): MessageRequested {
  return {
    messageId: fields.messageId,
    tenantId: fields.tenantId,
    channel: 'webhook',
    provider: 'webhook',
    recipient: fields.recipient,
    content: { text: 'herald bench' },
    retryPolicy: fields.retryPolicy ?? null,
    metadata: {},
    requestedAt: Date.now(),
  };
}

/** A webhook recipient on the simulator: unique path per message, optional provider latency. */
export function hookUrl(simUrl: string, script: string, id: string, latencyMs = 0): string {
  return `${simUrl}/hooks/${script}/${id}${latencyMs > 0 ? `?latency=${latencyMs}` : ''}`;
}

export class IncompleteRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteRunError';
  }
}

export interface SentProgress {
  /** performance.now() of the poll that saw the target reached, or of the last poll. */
  at: number;
  /** `sent` events applied, as last seen. */
  seen: number;
  reached: boolean;
}

/**
 * Polls the projector's metrics every `intervalMs` until `sent` reaches `target` or the time is
 * up. A service that exits is an error; a slow one is not (the caller decides).
 */
export async function waitForSent(
  services: HeraldServices,
  target: number,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<SentProgress> {
  const deadline = performance.now() + options.timeoutMs;
  let seen = 0;
  for (;;) {
    services.assertRunning();
    try {
      seen = sentCount(await services.metrics());
    } catch {
      // One failed scrape (e.g. the projector busy past the scrape timeout) ends nothing.
    }
    const at = performance.now();
    if (seen >= target) return { at, seen, reached: true };
    if (at > deadline) return { at, seen, reached: false };
    await sleep(options.intervalMs ?? 100);
  }
}

async function requireSent(
  services: HeraldServices,
  target: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const progress = await waitForSent(services, target, { timeoutMs });
  if (!progress.reached) {
    throw new IncompleteRunError(
      `${what}: ${progress.seen} of ${target} sent events applied after ${timeoutMs / 1000} s`,
    );
  }
}

/**
 * Waits until the projector has applied nothing new for `quietMs`: the pipeline is idle, so a
 * backlog left on the topics by someone else is not counted in the next measurement.
 */
export async function waitQuiet(
  services: HeraldServices,
  quietMs = 1500,
  timeoutMs = 30_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    services.assertRunning();
    const total = appliedTotal(await services.metrics());
    if (total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return true;
    }
    await sleep(250);
  }
  return false;
}

/** Which messages a run produces: tenant, id prefix and simulator (webhook target). */
interface MessageOptions {
  simUrl: string;
  tenantId: string;
  idPrefix: string;
}

/**
 * Warm-up, not measured: one probe message (its `sent` proves every consumer has joined its
 * group and the whole path works; throws if it does not come within a minute or `timeoutMs`),
 * then `count` more at once, then quiet. A warm-up Herald cannot finish in `timeoutMs` is
 * reported as `leftover` (messages still to be sent), for the measurement to expect too.
 */
export async function warmUp(
  services: HeraldServices,
  producer: RequestProducer,
  options: MessageOptions & {
    count: number;
    latencyMs?: number;
    timeoutMs: number;
  },
): Promise<{ quiet: boolean; leftover: number }> {
  const make = (i: number) =>
    producer.encode(
      webhookRequest({
        messageId: `${options.idPrefix}-${i}`,
        tenantId: options.tenantId,
        recipient: hookUrl(options.simUrl, 'ok', `${options.idPrefix}-${i}`, options.latencyMs),
      }),
    );
  const base = sentCount(await services.metrics());
  await producer.send([await make(0)]);
  await requireSent(services, base + 1, Math.max(60_000, options.timeoutMs), 'warm-up probe');
  if (options.count > 0) {
    const rest = await Promise.all(Array.from({ length: options.count }, (_, i) => make(i + 1)));
    await producer.send(rest);
    const target = base + 1 + options.count;
    const progress = await waitForSent(services, target, { timeoutMs: options.timeoutMs });
    if (!progress.reached) return { quiet: false, leftover: target - progress.seen };
  }
  return { quiet: await waitQuiet(services), leftover: 0 };
}

export interface Throughput {
  messages: number;
  seconds: number;
  perSecond: number;
  /**
   * false: the time cap came first; messages is then what was sent by then and perSecond the
   * rate so far (the run still fails).
   */
  complete?: boolean;
  /** How many were produced (differs from messages only when incomplete). */
  produced?: number;
  /** Each stage's backlog over the run (Herald only). */
  backlogs?: StageBacklogs['samples'];
  /** CPU each process spent in the timed window. */
  cpu?: CpuUsage;
}

/**
 * End-to-end throughput: `messages` requests, encoded beforehand, produced as fast as the
 * producer goes; the clock runs from the first produce until the projector has applied
 * `messages` new `sent` events (polled every 100 ms), or until `timeoutMs` has passed.
 */
export async function measureBurst(
  services: HeraldServices,
  producer: RequestProducer,
  options: MessageOptions & {
    messages: number;
    latencyMs?: number;
    timeoutMs: number;
    /** Sends still expected from before (an unfinished warm-up): counted in with the run's. */
    leftover?: number;
  },
): Promise<Throughput> {
  const records = await Promise.all(
    Array.from({ length: options.messages }, (_, i) => {
      const id = `${options.idPrefix}-${i}`;
      return producer.encode(
        webhookRequest({
          messageId: id,
          tenantId: options.tenantId,
          recipient: hookUrl(options.simUrl, 'ok', id, options.latencyMs),
        }),
      );
    }),
  );
  const base = sentCount(await services.metrics());
  const expected = options.messages + (options.leftover ?? 0);
  const backlogs = sampleStageBacklogs(producer.client);
  const cpu = new CpuWindow();
  cpu.begin();
  const start = performance.now();
  const [, progress] = await Promise.all([
    producer.send(records),
    waitForSent(services, base + expected, { timeoutMs: options.timeoutMs }),
  ]).finally(() => backlogs.stop());
  const usage = cpu.end();
  const seconds = (progress.at - start) / 1000;
  const sent = Math.min(expected, progress.seen - base);
  return {
    messages: sent,
    seconds,
    perSecond: sent / seconds,
    complete: progress.reached,
    produced: expected,
    backlogs: backlogs.samples,
    cpu: usage,
  };
}

export interface PacedResult {
  messages: number;
  /** The rate asked for and the rate the producer kept up. */
  targetRate: number;
  producedRate: number;
  /** Produce → `sent` written to the read model (projector's request_to_sent summary). */
  requestToSent: Quantiles;
  /** Event appended → read-model write done (projector's projection_lag summary). */
  projectionLag: Quantiles;
  /** false when not every message was sent within the grace after producing stopped. */
  complete: boolean;
  sent: number;
}

/**
 * Requests at a steady `rate` for `seconds` (requestedAt stamped as each batch is produced,
 * every 20 ms), then waits up to `graceMs` for all of them to be `sent` and reads the
 * projector's summaries.
 */
export async function measurePaced(
  services: HeraldServices,
  producer: RequestProducer,
  options: MessageOptions & {
    rate: number;
    seconds: number;
    graceMs: number;
  },
): Promise<PacedResult> {
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const base = sentCount(await services.metrics());
  const start = performance.now();
  let produced = 0;
  while (produced < total) {
    const due = Math.min(total, Math.floor((options.rate * (performance.now() - start)) / 1000));
    if (due > produced) {
      const from = produced;
      const batch = await Promise.all(
        Array.from({ length: due - from }, (_, k) => {
          const id = `${options.idPrefix}-${from + k}`;
          return producer.encode(
            webhookRequest({
              messageId: id,
              tenantId: options.tenantId,
              recipient: hookUrl(options.simUrl, 'ok', id),
            }),
          );
        }),
      );
      produced = due;
      await producer.send(batch);
    }
    await sleep(20);
  }
  const producedRate = total / ((performance.now() - start) / 1000);
  const progress = await waitForSent(services, base + total, { timeoutMs: options.graceMs });
  const metrics = await services.metrics();
  return {
    messages: total,
    targetRate: options.rate,
    producedRate,
    requestToSent: summaryMs(metrics, REQUEST_TO_SENT),
    projectionLag: summaryMs(metrics, PROJECTION_LAG),
    complete: progress.reached,
    sent: Math.min(total, progress.seen - base),
  };
}

// ---------------------------------------------------------------------------------------------
// Where a run waits: each stage's backlog

/**
 * Each partition of `topic` with records `group` has not committed: from its committed offset
 * (or the log start, if it never committed) to the end of the log.
 */
async function uncommitted(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Array<{ partition: number; from: bigint; high: bigint }>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return ends
    .map(({ partition, high, low }) => {
      const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      const from = BigInt(offset) >= 0n ? BigInt(offset) : BigInt(low);
      return { partition, from, high: BigInt(high) };
    })
    .filter(({ from, high }) => from < high);
}

/** The pipeline's stages in order, each as its consumer group and input topic. */
const STAGES = [
  { stage: 'ingest', group: 'herald-ingest', topic: TOPICS.messagesRequested.name },
  { stage: 'sender', group: 'herald-sender', topic: TOPICS.deliveries.name },
  { stage: 'projector', group: 'herald-projector', topic: TOPICS.messageEvents.name },
] as const;

export interface StageBacklogs {
  /** Seconds since sampling began, and each stage's records not yet committed then. */
  samples: Array<{ at: number; backlog: Record<string, number> }>;
  stop(): Promise<void>;
}

/**
 * Samples, every `everyMs`, how many records each stage has been given but not committed
 * (end offset − committed offset, summed over partitions). The stage whose backlog grows while
 * the others stay near zero is where a run waits: the bench's profile of the pipeline.
 */
export function sampleStageBacklogs(kafka: Kafka, everyMs = 1_000): StageBacklogs {
  const samples: StageBacklogs['samples'] = [];
  const admin = kafka.admin();
  const start = performance.now();
  let running = true;
  const loop = (async () => {
    await admin.connect();
    try {
      while (running) {
        const backlog: Record<string, number> = {};
        for (const { stage, group, topic } of STAGES) {
          const behind = await uncommitted(admin, group, topic);
          backlog[stage] = behind.reduce((sum, { from, high }) => sum + Number(high - from), 0);
        }
        samples.push({ at: (performance.now() - start) / 1000, backlog });
        await sleep(everyMs);
      }
    } finally {
      await admin.disconnect();
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop.catch(() => undefined);
    },
  };
}

/** e.g. "ingest max 4,800 (at 2 s) · sender max 120 (at 3 s) · projector max 3,900 (at 9 s)". */
export function describeBacklogs(samples: StageBacklogs['samples']): string {
  return STAGES.map(({ stage }) => {
    let max = 0;
    let at = 0;
    for (const sample of samples) {
      if ((sample.backlog[stage] ?? 0) > max) {
        max = sample.backlog[stage] ?? 0;
        at = sample.at;
      }
    }
    return `${stage} max ${formatInt(max)} (at ${at.toFixed(0)} s)`;
  }).join(' · ');
}

// ---------------------------------------------------------------------------------------------
// Leaving the topics as they were found

/** Each Herald consumer group and what it consumes (group ids as the apps hard-code them). */
const HERALD_GROUPS: ReadonlyArray<{ group: string; topics: readonly string[] }> = [
  { group: 'herald-ingest', topics: [TOPICS.messagesRequested.name] },
  { group: 'herald-sender', topics: [TOPICS.deliveries.name] },
  { group: 'herald-sender-delays', topics: DELIVERY_DELAY_TOPICS.map((topic) => topic.name) },
  { group: 'herald-projector', topics: [TOPICS.messageEvents.name] },
  { group: 'herald-status-checker', topics: [TOPICS.statusChecks.name] },
  {
    group: 'herald-status-checker-delays',
    topics: STATUS_CHECK_DELAY_TOPICS.map((topic) => topic.name),
  },
];

export interface SkippedBacklog {
  /** Records of this run no Herald consumer had finished, now skipped. */
  skipped: number;
  /** Groups left alone because a member is running (someone else's Herald). */
  busyGroups: string[];
}

/**
 * A run that did not complete leaves its requests, tasks and retries on Herald's topics, and
 * the next Herald started on this broker (another bench scenario, the tests, the demo) would
 * work through them first — retrying against a simulator that is gone, for days. So after its
 * services stop, the bench moves each Herald consumer group past the records it produced (keyed
 * by a message id starting with `prefix`), up to the first record of anyone else, committing
 * explicit offsets. Groups with a running member are left alone.
 */
export async function skipOwnBacklog(
  kafka: Kafka,
  prefix: string,
  options: { dryRun?: boolean; log?: (line: string) => void } = {},
): Promise<SkippedBacklog> {
  const admin = kafka.admin();
  await admin.connect();
  const result: SkippedBacklog = { skipped: 0, busyGroups: [] };
  try {
    const { groups } = await admin.describeGroups(HERALD_GROUPS.map(({ group }) => group));
    const idle: Array<{ group: string; topics: readonly string[] }> = [];
    for (const entry of HERALD_GROUPS) {
      const state = groups.find((g) => g.groupId === entry.group)?.state ?? 'Dead';
      if (state === 'Dead') continue; // never existed: nothing committed, nothing to skip
      if (state === 'Empty') idle.push(entry);
      else result.busyGroups.push(entry.group);
    }
    result.skipped = await skipInGroups(kafka, admin, idle, prefix, options);
  } finally {
    await admin.disconnect();
  }
  return result;
}

interface PartitionScan {
  group: string;
  topic: string;
  partition: number;
  from: bigint;
  high: bigint;
  /** Where the group should resume: past this run's records, at the first of anyone else's. */
  offset: bigint;
  own: number;
  done: boolean;
}

/** The groups' topics are disjoint, so one throwaway consumer scans them all. */
async function skipInGroups(
  kafka: Kafka,
  admin: Admin,
  groups: ReadonlyArray<{ group: string; topics: readonly string[] }>,
  prefix: string,
  options: { dryRun?: boolean; log?: (line: string) => void },
): Promise<number> {
  const scans = new Map<string, PartitionScan>();
  const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;
  for (const { group, topics } of groups) {
    for (const topic of topics) {
      for (const { partition, from, high } of await uncommitted(admin, group, topic)) {
        const scan = { group, topic, partition, from, high, offset: from, own: 0, done: false };
        scans.set(keyOf(topic, partition), scan);
      }
    }
  }
  if (scans.size === 0) return 0;

  // Committed records only: aborted records and transaction markers are nobody's work.
  const scanGroup = `herald-bench-skip-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const consumer = kafka.consumer({ groupId: scanGroup, readUncommitted: false });
  let pending = scans.size;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const done = (scan: PartitionScan): void => {
    if (scan.done) return;
    scan.done = true;
    pending -= 1;
    if (pending === 0) finish();
  };
  try {
    const joined = new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
    );
    // Also emitted for batches of only aborted records and markers, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const scan = scans.get(keyOf(payload.topic, payload.partition));
      if (!scan || scan.done) return;
      if (BigInt(payload.lastOffset) >= scan.high - 1n) {
        scan.offset = scan.high;
        done(scan);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set([...scans.values()].map((s) => s.topic))] });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        const scan = scans.get(keyOf(batch.topic, batch.partition));
        if (!scan || scan.done) return;
        let foreign = false;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < scan.from) continue;
          if (offset >= scan.high) break;
          if (message.key?.toString().startsWith(prefix)) {
            scan.offset = offset + 1n;
            scan.own += 1;
          } else {
            scan.offset = offset;
            foreign = true;
            break;
          }
        }
        if (foreign) done(scan);
      },
    });
    await Promise.race([joined, sleep(30_000)]);
    for (const scan of scans.values()) {
      consumer.seek({ topic: scan.topic, partition: scan.partition, offset: scan.from.toString() });
    }
    await Promise.race([finished, sleep(20_000)]);
  } finally {
    await Promise.race([consumer.disconnect().catch(() => undefined), sleep(15_000)]);
    await admin.deleteGroups([scanGroup]).catch(() => undefined);
  }

  let skipped = 0;
  const moves = new Map<
    string,
    { group: string; topic: string; partitions: Array<{ partition: number; offset: string }> }
  >();
  for (const scan of scans.values()) {
    // Nothing of ours, only transaction markers: consumers pass those by anyway, and each move
    // costs seconds (kafkajs' setOffsets joins the group and waits for a fetch).
    if (scan.own === 0 || scan.offset <= scan.from) continue;
    skipped += scan.own;
    const key = `${scan.group} ${scan.topic}`;
    const move = moves.get(key) ?? { group: scan.group, topic: scan.topic, partitions: [] };
    move.partitions.push({ partition: scan.partition, offset: scan.offset.toString() });
    moves.set(key, move);
  }
  for (const { group, topic, partitions } of moves.values()) {
    options.log?.(
      `${options.dryRun ? 'would move' : 'moving'} ${group} on ${topic}: ` +
        partitions.map((p) => `${p.partition}->${p.offset}`).join(' '),
    );
    // Explicit offsets: kafkajs' resetOffsets would commit -1, which Herald's consumers
    // (fromBeginning) read as "start of the topic".
    if (!options.dryRun) await admin.setOffsets({ groupId: group, topic, partitions });
  }
  return skipped;
}
