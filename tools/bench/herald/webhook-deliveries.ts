/**
 * Herald's outbound webhooks under load, seen from the endpoints. Endpoints are registered
 * through the webhooks service's API on a recording simulator's Standard Webhooks receivers
 * (each secret registered with its receiver, so every signature is checked on arrival);
 * messages are produced for their tenant to the instant-answering hook, as the throughput runs
 * produce theirs; and the receivers' recordings are read back: how fast the deliveries arrived,
 * how long after their `sent` event, and whether each one verified.
 */

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedRequest } from '@tools/provider-sim';
import { bearer, type TenantKey } from '@tools/harness';
import { CpuWindow, type CpuUsage } from '../cpu-usage';
import { distribution, type Distribution } from '../stats';
import { sampleStageBacklogs, WEBHOOK_STAGES, type StageBacklogs } from './backlogs';
import { encodeOk, IncompleteRunError, producePaced, warmUp, type MessageOptions } from './load';
import { sample } from './metrics';
import type { RequestProducer } from './requests';
import { WEBHOOKS_SERVICE, type HeraldServices } from './services';

/** What an endpoint subscribes to: one delivery per message, made when it is sent. */
const EVENT_TYPES = ['message.sent'];

// ---------------------------------------------------------------------------------------------
// The receivers

/**
 * The Standard Webhooks receivers of a simulator started with recording on (its recordings are
 * the measurement), through its control API.
 */
export class Receivers {
  constructor(private readonly simUrl: string) {}

  /** The URL of receiver `name`, answering 200 to every delivery that verifies. */
  urlOf(name: string): string {
    return `${this.simUrl}/receivers/ok/${encodeURIComponent(name)}`;
  }

  /** Forgets every recording, count and registered secret: each run starts from nothing. */
  async reset(): Promise<void> {
    await this.control('DELETE', '/_sim/requests');
  }

  async register(name: string, secret: string): Promise<void> {
    await this.control('PUT', `/_sim/receivers/${encodeURIComponent(name)}`, {
      secrets: [secret],
    });
  }

  /**
   * Requests the simulator has received since the reset, verified or not: cheap enough to poll
   * while a run is timed, unlike the recordings.
   */
  async arrived(): Promise<number> {
    return ((await this.control('GET', '/_sim/stats?limit=0')) as { total: number }).total;
  }

  async recordings(): Promise<RecordedRequest[]> {
    const answer = await this.control('GET', '/_sim/requests?prefix=/receivers/');
    return (answer as { requests: RecordedRequest[] }).requests;
  }

  private async control(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.simUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`simulator ${method} ${path} answered ${response.status}: ${text}`);
    }
    return JSON.parse(text) as unknown;
  }
}

// ---------------------------------------------------------------------------------------------
// The endpoints

/**
 * `count` endpoints of the tenant, each on its own receiver (`endpoint-1`…), subscribed to
 * `message.sent`, each secret registered with its receiver. Created one after another: the
 * count is small and the creation is not measured.
 */
export async function createEndpoints(
  services: HeraldServices,
  receivers: Receivers,
  tenant: TenantKey,
  count: number,
): Promise<void> {
  const url = `http://127.0.0.1:${services.port(WEBHOOKS_SERVICE)}/v1/webhook-endpoints`;
  for (let i = 1; i <= count; i += 1) {
    const receiver = `endpoint-${i}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tenant.key) },
      body: JSON.stringify({ url: receivers.urlOf(receiver), eventTypes: EVENT_TYPES }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status !== 201) {
      throw new Error(`creating endpoint ${i} of ${count} answered ${response.status}: ${text}`);
    }
    await receivers.register(receiver, (JSON.parse(text) as { secret: string }).secret);
  }
}

// ---------------------------------------------------------------------------------------------
// What the receivers got

/** What the recordings of one run's messages say. */
interface Tally {
  /** The first verified arrival of each (endpoint, message), and its `sent` event's time. */
  deliveries: Array<{ receivedAt: number; eventAt: number }>;
  /** Arrivals no registered secret verified (the receiver answered 401, so Herald retries). */
  refused: number;
  /** Verified arrivals of an (endpoint, message) already received. */
  repeated: number;
  /** Bodies that are not a readable payload (not JSON, or cut at the recording limit). */
  unreadable: number;
}

interface Payload {
  timestamp?: string;
  data?: { id?: string };
}

/** Message i of a run is `<idPrefix>-<i>`; its warm-up's are `<idPrefix>-warmup-<i>`. */
function isRunMessage(id: string, idPrefix: string): boolean {
  return id.startsWith(`${idPrefix}-`) && /^\d+$/.test(id.slice(idPrefix.length + 1));
}

function tally(requests: readonly RecordedRequest[], idPrefix: string): Tally {
  const result: Tally = { deliveries: [], refused: 0, repeated: 0, unreadable: 0 };
  const seen = new Set<string>();
  for (const request of requests) {
    let payload: Payload;
    try {
      payload = JSON.parse(request.body) as Payload;
    } catch {
      result.unreadable += 1;
      continue;
    }
    const id = payload.data?.id;
    const eventAt = Date.parse(payload.timestamp ?? '');
    if (typeof id !== 'string' || !Number.isFinite(eventAt)) {
      result.unreadable += 1;
      continue;
    }
    if (!isRunMessage(id, idPrefix)) continue;
    if (request.signature?.verified !== true) {
      result.refused += 1;
      continue;
    }
    // The path names the endpoint's receiver: one delivery per endpoint and message.
    const delivery = `${request.path} ${id}`;
    if (seen.has(delivery)) {
      result.repeated += 1;
      continue;
    }
    seen.add(delivery);
    result.deliveries.push({ receivedAt: request.receivedAt, eventAt });
  }
  return result;
}

/**
 * Polls the simulator's request count every 100 ms until `expected` of the run's deliveries
 * may have arrived since `arrivedBefore`, then reads the recordings to count them (at most once
 * a second after that: reading every recording loads the simulator being timed), until they
 * have all arrived or `timeoutMs` has passed. A service that exits is an error.
 */
async function waitForDeliveries(
  services: HeraldServices,
  receivers: Receivers,
  run: { idPrefix: string; expected: number; arrivedBefore: number; timeoutMs: number },
): Promise<{ tally: Tally; reached: boolean }> {
  const deadline = performance.now() + run.timeoutMs;
  let readAt = -Infinity;
  let readWhenArrived = -1;
  for (;;) {
    services.assertRunning();
    const arrived = await receivers.arrived().catch(() => -1);
    const late = performance.now() > deadline;
    const enough = arrived - run.arrivedBefore >= run.expected;
    const changed = arrived !== readWhenArrived;
    if (late || (enough && changed && performance.now() - readAt >= 1_000)) {
      readAt = performance.now();
      readWhenArrived = arrived;
      const counted = tally(await receivers.recordings(), run.idPrefix);
      if (counted.deliveries.length >= run.expected) return { tally: counted, reached: true };
      if (late) return { tally: counted, reached: false };
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// The webhooks service's own counts

export interface WebhookCounters {
  /** Attempts by outcome, and deliveries dropped (herald_webhook_deliveries_total). */
  succeeded: number;
  retrying: number;
  failed: number;
  dropped: number;
  /** Deliveries put back for a second because their endpoint had its most calls in flight. */
  deferred: number;
  /** Calls slower than HERALD_WEBHOOK_SLOW_AFTER_MS, finished outside their batch. */
  handedOff: number;
}

async function webhookCounters(services: HeraldServices): Promise<WebhookCounters> {
  const metrics = await services.metrics(WEBHOOKS_SERVICE);
  const outcome = (name: string) =>
    sample(metrics, 'herald_webhook_deliveries_total', { outcome: name }, 0);
  return {
    succeeded: outcome('succeeded'),
    retrying: outcome('retrying'),
    failed: outcome('failed'),
    dropped: outcome('dropped'),
    deferred: sample(metrics, 'herald_webhook_deliveries_deferred_total', {}, 0),
    handedOff: sample(metrics, 'herald_webhook_calls_handed_off_total', {}, 0),
  };
}

function countersSince(now: WebhookCounters, before: WebhookCounters): WebhookCounters {
  return {
    succeeded: now.succeeded - before.succeeded,
    retrying: now.retrying - before.retrying,
    failed: now.failed - before.failed,
    dropped: now.dropped - before.dropped,
    deferred: now.deferred - before.deferred,
    handedOff: now.handedOff - before.handedOff,
  };
}

// ---------------------------------------------------------------------------------------------
// The runs

export interface WebhookRun {
  endpoints: number;
  messages: number;
  /** messages × endpoints: every message is delivered to every endpoint. */
  expected: number;
  /** Distinct (endpoint, message) deliveries that arrived verified. */
  delivered: number;
  /** false: not every delivery arrived within the run's time limit (the run then fails). */
  complete: boolean;
  /** First verified delivery received → last, in seconds, and delivered ÷ that. */
  seconds: number;
  perSecond: number;
  /** First produce → last delivery received, in seconds. */
  sinceProduceSeconds: number;
  /** Received − the `sent` event's time (the payload's `timestamp`), ms. */
  latency: Distribution;
  refused: number;
  repeated: number;
  unreadable: number;
  /** The webhooks service's counts over the run (after the warm-up). */
  service: WebhookCounters;
  /** Each stage's backlog, the webhooks service's included (bursts only). */
  backlogs?: StageBacklogs['samples'];
  /** CPU each process spent from the first produce to the last delivery (bursts only). */
  cpu?: CpuUsage;
  /** Paced runs only: the rate asked for and the rate the producer kept up, messages/s. */
  targetRate?: number;
  producedRate?: number;
}

function summarize(
  counted: Tally,
  run: { endpoints: number; messages: number; producedAt: number; reached: boolean },
  service: WebhookCounters,
): WebhookRun {
  const received = counted.deliveries.map((d) => d.receivedAt);
  // Not Math.min(...received): a spread is bounded by the stack, a run's deliveries are not.
  const first = received.reduce((min, at) => Math.min(min, at), Infinity);
  const last = received.reduce((max, at) => Math.max(max, at), -Infinity);
  const seconds = received.length > 0 ? (last - first) / 1000 : NaN;
  return {
    endpoints: run.endpoints,
    messages: run.messages,
    expected: run.messages * run.endpoints,
    delivered: counted.deliveries.length,
    complete: run.reached,
    seconds,
    perSecond: seconds > 0 ? counted.deliveries.length / seconds : NaN,
    sinceProduceSeconds: received.length > 0 ? (last - run.producedAt) / 1000 : NaN,
    latency: distribution(counted.deliveries.map((d) => d.receivedAt - d.eventAt)),
    refused: counted.refused,
    repeated: counted.repeated,
    unreadable: counted.unreadable,
    service,
  };
}

type RunOptions = MessageOptions & { endpoints: number };

/**
 * Warm-up, not measured, for the endpoints already created: the load warm-up (a probe, then
 * `count` messages, all to the tenant, so the webhooks service delivers them too), then every
 * one of their deliveries. Resolves with the deliveries still missing at `timeoutMs` (0
 * normally); throws if not even one arrived, since then the webhook path does not work at all.
 */
export async function warmUpDeliveries(
  services: HeraldServices,
  producer: RequestProducer,
  receivers: Receivers,
  options: RunOptions & { count: number; timeoutMs: number },
): Promise<number> {
  const arrivedBefore = await receivers.arrived();
  await warmUp(services, producer, options);
  const expected = (1 + options.count) * options.endpoints;
  const { tally: counted } = await waitForDeliveries(services, receivers, {
    idPrefix: options.idPrefix,
    expected,
    arrivedBefore,
    timeoutMs: options.timeoutMs,
  });
  if (counted.deliveries.length === 0) {
    throw new IncompleteRunError(
      `webhooks warm-up: none of ${expected} deliveries arrived within ${options.timeoutMs / 1000} s`,
    );
  }
  return expected - counted.deliveries.length;
}

/**
 * Deliveries per second: `messages` requests, encoded beforehand, produced as fast as the
 * producer goes, each delivered to every endpoint; the rate is the run's deliveries ÷ (first
 * received → last received), read from the receivers' recordings once all have arrived or
 * `timeoutMs` has passed.
 */
export async function measureDeliveryBurst(
  services: HeraldServices,
  producer: RequestProducer,
  receivers: Receivers,
  options: RunOptions & { messages: number; timeoutMs: number },
): Promise<WebhookRun> {
  const records = await Promise.all(
    Array.from({ length: options.messages }, (_, i) => encodeOk(producer, options, i)),
  );
  const before = await webhookCounters(services);
  const arrivedBefore = await receivers.arrived();
  const backlogs = sampleStageBacklogs(producer.client, 1_000, WEBHOOK_STAGES);
  const cpu = new CpuWindow();
  cpu.begin();
  const producedAt = Date.now();
  const [, progress] = await Promise.all([
    producer.send(records),
    waitForDeliveries(services, receivers, {
      idPrefix: options.idPrefix,
      expected: options.messages * options.endpoints,
      arrivedBefore,
      timeoutMs: options.timeoutMs,
    }),
  ]).finally(() => backlogs.stop());
  const usage = cpu.end();
  const service = countersSince(await webhookCounters(services), before);
  return {
    ...summarize(progress.tally, { ...options, producedAt, reached: progress.reached }, service),
    backlogs: backlogs.samples,
    cpu: usage,
  };
}

/**
 * Delivery latency at a steady `rate` of messages for `seconds` (each delivered to every
 * endpoint), then up to `graceMs` for the last deliveries; nothing polls the simulator while
 * the messages are produced.
 */
export async function measureDeliveryPaced(
  services: HeraldServices,
  producer: RequestProducer,
  receivers: Receivers,
  options: RunOptions & { rate: number; seconds: number; graceMs: number },
): Promise<WebhookRun> {
  const messages = Math.max(1, Math.round(options.rate * options.seconds));
  const before = await webhookCounters(services);
  const arrivedBefore = await receivers.arrived();
  const producedAt = Date.now();
  const producedRate = await producePaced(producer, options.rate, messages, (i) =>
    encodeOk(producer, options, i),
  );
  const progress = await waitForDeliveries(services, receivers, {
    idPrefix: options.idPrefix,
    expected: messages * options.endpoints,
    arrivedBefore,
    timeoutMs: options.graceMs,
  });
  const service = countersSince(await webhookCounters(services), before);
  return {
    ...summarize(
      progress.tally,
      { endpoints: options.endpoints, messages, producedAt, reached: progress.reached },
      service,
    ),
    targetRate: options.rate,
    producedRate,
  };
}
