/**
 * Herald's end-to-end throughput against a provider that answers in `settings.slowLatencyMs`
 * (100 ms), one sender: what a sender instance sustains when calls, not CPU, are the bound.
 */

import type { BenchContext } from '../context';
import type { Throughput } from '../herald/load';
import { MAX_IN_FLIGHT } from '../herald/services';
import { timedBurst, withFreshServices } from './herald-scenario';

export function slowProviderThroughput(
  context: BenchContext,
  instant: Throughput | undefined,
): Promise<Throughput | undefined> {
  const { settings } = context;
  // Sized to last slowSeconds at the rate it should reach: min(instant rate, in-flight ÷ latency).
  const slowRate = Math.max(
    10,
    Math.min(instant?.perSecond ?? 1000, MAX_IN_FLIGHT / (settings.slowLatencyMs / 1000)),
  );
  const slowMessages = Math.ceil((slowRate * settings.slowSeconds) / 100) * 100;
  return withFreshServices(context, 'latency100', (services) =>
    timedBurst(context, services, {
      name: 'latency100',
      messages: slowMessages,
      latencyMs: settings.slowLatencyMs,
      timeoutMs: settings.slowSeconds * 3_000 + 15_000,
    }),
  );
}
