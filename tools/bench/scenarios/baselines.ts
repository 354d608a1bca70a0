/**
 * The baselines, on the same broker and simulator as Herald and at the same concurrency: a
 * minimal kafkajs consume → POST → produce loop (the ceiling of this stack), and BullMQ over
 * Redis (the queue a team would otherwise pick).
 */

import { runBullmqBaseline } from '../baselines/bullmq';
import { runKafkajsBaseline, type BaselineResult } from '../baselines/kafkajs-loop';
import type { BenchContext } from '../context';
import { hookUrl } from '../herald/requests';
import { MAX_IN_FLIGHT, PARTITION_CONCURRENCY } from '../herald/services';
import { errorMessage, say } from '../log';
import { formatInt, formatRate } from '../stats';

export function kafkajsBaseline(context: BenchContext): Promise<BaselineResult | undefined> {
  const { servers, sim, settings, runId } = context;
  return measureBaseline(context, 'kafkajs loop', () =>
    runKafkajsBaseline({
      brokers: servers.brokers,
      targetUrl: (i) => hookUrl(sim.url, 'ok', `${runId}-kafkajs-${i}`),
      messages: settings.burst,
      concurrency: MAX_IN_FLIGHT,
      partitions: PARTITION_CONCURRENCY,
      runId,
    }),
  );
}

/** Undefined without Redis (its failure to start is recorded already). */
export async function bullmqBaseline(context: BenchContext): Promise<BaselineResult | undefined> {
  const { redisUrl, sim, settings, runId } = context;
  if (!redisUrl) return undefined;
  return measureBaseline(context, 'BullMQ', () =>
    runBullmqBaseline({
      redisUrl,
      targetUrl: (i) => hookUrl(sim.url, 'ok', `${runId}-bullmq-${i}`),
      messages: settings.burst,
      concurrency: MAX_IN_FLIGHT,
      runId,
    }),
  );
}

/** A baseline's run, its rate said, or its failure recorded. */
async function measureBaseline(
  context: BenchContext,
  label: string,
  measure: () => Promise<BaselineResult>,
): Promise<BaselineResult | undefined> {
  say(`baseline: ${label}, ${formatInt(context.settings.burst)} messages`);
  try {
    const result = await measure();
    say(`  ${formatRate(result.perSecond)}`);
    return result;
  } catch (error) {
    context.failures.push(`${label} baseline: ${errorMessage(error)}`);
    say(`  failed: ${errorMessage(error)}`);
    return undefined;
  }
}
