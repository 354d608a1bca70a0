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
import { warmUpScenario, withFreshServices } from './herald-scenario';

/** Started besides the usual four: every service Herald has. */
const IDLE_EXTRA: readonly ServiceName[] = ['webhooks', 'dashboard'];

/** After the warm-up, before measuring: consumer groups settle (joins, the first long polls). */
const SETTLE_MS = 30_000;

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

export function percent(shareOfCore: number): string {
  return Number.isFinite(shareOfCore) ? `${(shareOfCore * 100).toFixed(2)}%` : '—';
}
