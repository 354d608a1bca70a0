/**
 * Herald's retry precision: how late retries fire against the time Herald announced, on a
 * simulator of its own with recording on, so attempt 2's arrival can be read.
 */

import type { BenchContext } from '../context';
import {
  assertComplete,
  measureRetryPrecision,
  type RetryPrecisionResult,
} from '../herald/retry-precision';
import { startSimulator, stopBenchProcess } from '../herald/services';
import { errorMessage, say } from '../log';
import { recordRss } from '../results';
import { formatMs } from '../stats';
import { warmUpScenario, withFreshServices } from './herald-scenario';

/** The result even when incomplete (the run then also counts as a failure). */
export async function retryPrecision(
  context: BenchContext,
): Promise<RetryPrecisionResult | undefined> {
  const { settings, runId, logDir, producer, results, failures } = context;
  const recordingSim = await startSimulator({ logDir, label: 'retry', recording: true }).catch(
    (error: unknown) => {
      failures.push(`retry precision: simulator: ${errorMessage(error)}`);
      return undefined;
    },
  );
  if (!recordingSim) return undefined;
  let measured: RetryPrecisionResult | undefined;
  try {
    await withFreshServices(context, 'retry', async (services) => {
      // The probe only: a warm-up still in flight would load the pipeline being timed.
      await warmUpScenario(context, services, 'retry', 0);
      say(
        `herald retry: ${settings.retryMessages} retries, Retry-After 1-${settings.retryMaxSeconds} s ` +
          '(webhook policy, HERALD_TIME_SCALE=1)',
      );
      const result = await measureRetryPrecision(services, producer, {
        simUrl: recordingSim.url,
        runId,
        tenantId: runId,
        idPrefix: `${runId}-retry`,
        messages: settings.retryMessages,
        maxSeconds: settings.retryMaxSeconds,
        graceMs: 30_000,
        log: (line) => say(`  ${line}`),
      });
      say(
        `  lateness p50/p99/max ${formatMs(result.lateness.p50)} / ` +
          `${formatMs(result.lateness.p99)} / ${formatMs(result.lateness.max)}; early ${result.early}`,
      );
      // Reported even when incomplete.
      measured = result;
      assertComplete(result);
    });
  } finally {
    recordRss(results, 'provider-sim', await stopBenchProcess(recordingSim), 'retry');
  }
  return measured;
}
