/**
 * Herald under load: warm-up, a burst timed end to end (first produce → the projector has
 * applied that many `sent` events) and steady load at a given rate, with progress read from
 * the projector's metrics.
 */

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { readServerRequests, serverRequestsBetween, type ServerRequests } from '../server-requests';
import { CpuWindow, type CpuUsage } from '../cpu-usage';
import { sampleStageBacklogs, type StageBacklogs } from './backlogs';
import {
  appliedTotal,
  PROJECTION_LAG,
  REQUEST_TO_SENT,
  sentCount,
  histogramMs,
  type Quantiles,
} from './metrics';
import { hookUrl, webhookRequest, type EncodedRequest, type RequestProducer } from './requests';
import type { HeraldServices } from './services';

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
export interface MessageOptions {
  simUrl: string;
  tenantId: string;
  idPrefix: string;
}

/** The run's message i, to a webhook the simulator answers 200 after `latencyMs`. */
export function encodeOk(
  producer: RequestProducer,
  options: MessageOptions,
  i: number,
  latencyMs?: number,
): Promise<EncodedRequest> {
  const id = `${options.idPrefix}-${i}`;
  return producer.encode(
    webhookRequest({
      messageId: id,
      tenantId: options.tenantId,
      recipient: hookUrl(options.simUrl, 'ok', id, latencyMs),
    }),
  );
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
  const make = (i: number) => encodeOk(producer, options, i, options.latencyMs);
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
  /** Requests the broker and MongoDB handled in the timed window, by kind (where readable). */
  serverRequests?: ServerRequests;
  /** Set on a median of repeated runs: every run's rate, slowest first. */
  rates?: number[];
}

/**
 * The median of repeated runs of one measurement: the run of median rate, whose CPU per
 * message is, process by process, the median of the runs' (so one run's stray GC or
 * compaction does not make a process look costly), and which lists every run's rate.
 */
export function medianOfRuns(runs: readonly Throughput[]): Throughput {
  if (runs.length === 0) throw new Error('medianOfRuns: no runs');
  const byRate = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  const middle = byRate[Math.floor((byRate.length - 1) / 2)]!;
  const rates = byRate.map((run) => run.perSecond);
  const measured = runs.filter((run) => run.cpu && run.messages > 0);
  if (!middle.cpu || measured.length === 0) return { ...middle, rates };
  const roles = new Set(measured.flatMap((run) => [...run.cpu!.byRole.keys()]));
  const byRole = new Map<string, number>();
  for (const role of roles) {
    const perMessage = measured
      .map((run) => (run.cpu!.byRole.get(role) ?? 0) / run.messages)
      .sort((a, b) => a - b);
    const median = perMessage[Math.floor((perMessage.length - 1) / 2)]!;
    byRole.set(role, median * middle.messages);
  }
  const totalMs = [...byRole.values()].reduce((sum, ms) => sum + ms, 0);
  return { ...middle, rates, cpu: { ...middle.cpu, byRole, totalMs } };
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
    /** The MongoDB-protocol server whose command counts the run reads. */
    mongoUri: string;
  },
): Promise<Throughput> {
  const records = await Promise.all(
    Array.from({ length: options.messages }, (_, i) =>
      encodeOk(producer, options, i, options.latencyMs),
    ),
  );
  const base = sentCount(await services.metrics());
  const expected = options.messages + (options.leftover ?? 0);
  // Read before the CPU window opens and after it closes (the reader is a JVM of its own).
  const requestsBefore = await readServerRequests(options.mongoUri);
  const backlogs = sampleStageBacklogs(producer.client);
  const cpu = new CpuWindow();
  cpu.begin();
  const start = performance.now();
  const [, progress] = await Promise.all([
    producer.send(records),
    waitForSent(services, base + expected, { timeoutMs: options.timeoutMs }),
  ]).finally(() => backlogs.stop());
  const usage = cpu.end();
  const requestsAfter = await readServerRequests(options.mongoUri);
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
    serverRequests: serverRequestsBetween(requestsBefore, requestsAfter),
  };
}

export interface PacedResult {
  messages: number;
  /** The rate asked for and the rate the producer kept up. */
  targetRate: number;
  producedRate: number;
  /** Produce → `sent` written to the read model (projector's request_to_sent histogram). */
  requestToSent: Quantiles;
  /** Event appended → read-model write done (projector's projection_lag histogram). */
  projectionLag: Quantiles;
  /** false when not every message was sent within the grace after producing stopped. */
  complete: boolean;
  sent: number;
}

/**
 * Requests at a steady `rate` for `seconds` (requestedAt stamped as each batch is produced,
 * every 20 ms), then waits up to `graceMs` for all of them to be `sent` and reads the
 * projector's histograms (p50/p95/p99 interpolated within their buckets).
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
  const producedRate = await producePaced(producer, options.rate, total, (i) =>
    encodeOk(producer, options, i),
  );
  const progress = await waitForSent(services, base + total, { timeoutMs: options.graceMs });
  const metrics = await services.metrics();
  return {
    messages: total,
    targetRate: options.rate,
    producedRate,
    requestToSent: histogramMs(metrics, REQUEST_TO_SENT),
    projectionLag: histogramMs(metrics, PROJECTION_LAG),
    complete: progress.reached,
    sent: Math.min(total, progress.seen - base),
  };
}

/**
 * Produces `total` records at a steady `rate`: every 20 ms, those due by then, each encoded
 * (so stamped) just before it is produced. Resolves with the rate the producer kept up.
 */
export async function producePaced(
  producer: RequestProducer,
  rate: number,
  total: number,
  make: (i: number) => Promise<EncodedRequest>,
): Promise<number> {
  const start = performance.now();
  let produced = 0;
  while (produced < total) {
    const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
    if (due > produced) {
      const from = produced;
      const batch = await Promise.all(Array.from({ length: due - from }, (_, k) => make(from + k)));
      produced = due;
      await producer.send(batch);
    }
    await sleep(20);
  }
  return total / ((performance.now() - start) / 1000);
}
