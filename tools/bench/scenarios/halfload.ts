/**
 * Herald's end-to-end latency and projection lag at half the instant throughput, read from
 * the projector's summaries after steady load for `settings.halfLoadSeconds`.
 */

import type { BenchContext } from '../context';
import { measurePaced, type PacedResult, type Throughput } from '../herald/load';
import { say } from '../log';
import { formatMs, formatRate } from '../stats';
import { warmUpScenario, withFreshServices } from './herald-scenario';

/** Skipped, as a failure, without the instant run's rate to halve. */
export async function halfLoadLatency(
  context: BenchContext,
  instant: Throughput | undefined,
): Promise<PacedResult | undefined> {
  const { settings, runId, sim, producer, failures, notes } = context;
  if (!instant) {
    failures.push('herald halfload: skipped, it needs the instant throughput');
    return undefined;
  }
  // At least 1 msg/s, so a Herald that barely moves still gets its latency measured.
  const rate = Math.max(1, instant.perSecond / 2);
  if (instant.complete === false) {
    notes.push(
      `halfload: the instant run was incomplete, so "half load" is ${formatRate(rate)} ` +
        '(half its partial rate, at least 1 msg/s)',
    );
  }
  return withFreshServices(context, 'halfload', async (services) => {
    // Only a probe here: the projector's summaries cannot leave a warm-up out.
    const { quiet } = await warmUpScenario(context, services, 'halfload', 0);
    if (!quiet) notes.push('halfload: the pipeline never went quiet after the probe');
    say(`herald halfload: ${formatRate(rate)} for ${settings.halfLoadSeconds} s`);
    const result = await measurePaced(services, producer, {
      simUrl: sim.url,
      tenantId: runId,
      idPrefix: `${runId}-halfload`,
      rate,
      seconds: settings.halfLoadSeconds,
      graceMs: 30_000,
    });
    say(
      `  request→sent p50/p95/p99 ${formatMs(result.requestToSent.p50)} / ` +
        `${formatMs(result.requestToSent.p95)} / ${formatMs(result.requestToSent.p99)}; ` +
        `projection lag p50/p99 ${formatMs(result.projectionLag.p50)} / ` +
        `${formatMs(result.projectionLag.p99)}`,
    );
    if (!result.complete) {
      failures.push(
        `herald halfload: incomplete, ${result.sent} of ${result.messages} sent 30 s after the last produce`,
      );
    }
    return result;
  });
}
