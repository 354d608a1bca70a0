/**
 * Herald's cost at rest: the CPU its services spend, and the CPU they make the broker spend,
 * with no traffic at all. A platform team pays for this every hour of the day, most of which has
 * little traffic, so it should round to nothing.
 *
 * The broker is measured twice over the same length of time: with no Herald service running,
 * then with every service (ingest, sender, status checker, projector, webhooks, dashboard)
 * started, warmed up with one message and left alone. CPU time comes from /proc (cpu-usage.ts),
 * so other processes on the machine do not count against anyone.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@herald/config';
import type { BenchContext } from '../context';
import { CpuWindow, type CpuUsage } from '../cpu-usage';
import { say } from '../log';
import type { HeraldServices } from '../herald/services';
import { sample } from '../herald/metrics';
import { warmUpScenario, withFreshServices } from './herald-scenario';

/** Started besides the usual four: every service Herald has. */
const IDLE_EXTRA: readonly ServiceName[] = ['webhooks', 'dashboard'];

/** After the warm-up, before measuring: consumer groups settle (joins, the first long polls). */
const SETTLE_MS = 30_000;

/**
 * And then until no service has run a full garbage collection for this long. In the first
 * minute after start-up V8's memory reducer runs two or three full collections per process to
 * hand the start-up heap back (25–70 ms of CPU each, seen with BENCH_NODE_ARGS=--trace-gc), a
 * one-off that made the at-rest figure swing between 1.8% and 4.7% with where it fell; at rest
 * after that, the only collections are a 1 ms scavenge every ~10 s.
 */
const QUIET_GC_MS = 20_000;
/** Measured anyway after this long, and said so. */
const SETTLE_DEADLINE_MS = 150_000;
const GC_CHECK_EVERY_MS = 5_000;

export interface IdleResult {
  seconds: number;
  /** The broker's CPU as a share of one core, with no Herald service running. */
  brokerAlone: number;
  /** The same with every service running and idle. */
  brokerWithServices: number;
  /** Each service's CPU as a share of one core, at rest. */
  services: Map<string, number>;
  /** All of them together. */
  servicesTotal: number;
}

/** Share of one core a role used over a window of `ms`. */
function share(usage: CpuUsage | undefined, role: string, ms: number): number {
  return usage ? (usage.byRole.get(role) ?? 0) / ms : NaN;
}

async function measureWindow(ms: number): Promise<CpuUsage | undefined> {
  const window = new CpuWindow();
  window.begin();
  await sleep(ms);
  return window.end();
}

export async function idleCost(context: BenchContext): Promise<IdleResult | undefined> {
  const seconds = context.settings.idleSeconds;
  const ms = seconds * 1000;
  say(`herald idle: the broker alone for ${seconds} s`);
  const alone = await measureWindow(ms);
  return withFreshServices(
    context,
    'idle',
    async (services) => {
      // One message through, so every consumer has joined and every connection is open.
      await warmUpScenario(context, services, 'idle', 0);
      await sleep(SETTLE_MS);
      await untilGarbageSettles(services);
      say(`herald idle: every service at rest for ${seconds} s`);
      const atRest = await measureWindow(ms);
      services.assertRunning();
      const perService = new Map<string, number>();
      for (const name of services.processes.keys()) perService.set(name, share(atRest, name, ms));
      const result: IdleResult = {
        seconds,
        brokerAlone: share(alone, 'kafka', ms),
        brokerWithServices: share(atRest, 'kafka', ms),
        services: perService,
        servicesTotal: [...perService.values()].reduce((sum, value) => sum + value, 0),
      };
      say(
        `  services ${percent(result.servicesTotal)} of one core ` +
          `(${[...perService].map(([name, value]) => `${name} ${percent(value)}`).join(', ')}); ` +
          `broker ${percent(result.brokerWithServices)} vs ${percent(result.brokerAlone)} alone`,
      );
      return result;
    },
    { extra: IDLE_EXTRA },
  );
}

/** Full (major and incremental) collections so far, all services together, from /metrics. */
async function fullCollections(services: HeraldServices): Promise<number> {
  let total = 0;
  for (const name of services.processes.keys()) {
    const metrics = await services.metrics(name);
    for (const kind of ['major', 'incremental']) {
      total += sample(metrics, 'nodejs_gc_duration_seconds_count', { kind }, 0);
    }
  }
  return total;
}

/** Waits until no service has run a full collection for QUIET_GC_MS (see there). */
async function untilGarbageSettles(services: HeraldServices): Promise<void> {
  const started = Date.now();
  let last = await fullCollections(services);
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_GC_MS) {
    if (Date.now() - started > SETTLE_DEADLINE_MS) {
      say(
        `  full collections still running after ${SETTLE_DEADLINE_MS / 1000} s; measuring anyway`,
      );
      return;
    }
    await sleep(GC_CHECK_EVERY_MS);
    const now = await fullCollections(services);
    if (now !== last) quietSince = Date.now();
    last = now;
  }
  say(`  no full collection for ${QUIET_GC_MS / 1000} s (after ${wallSecondsSince(started)} s)`);
}

function wallSecondsSince(started: number): string {
  return ((Date.now() - started) / 1000).toFixed(0);
}

export function percent(shareOfCore: number): string {
  return Number.isFinite(shareOfCore) ? `${(shareOfCore * 100).toFixed(2)}%` : '—';
}
