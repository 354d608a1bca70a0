/**
 * The baselines, on the same broker and simulator as Herald and at the same concurrency: a
 * minimal kafkajs consume → POST → produce loop (the ceiling of this stack), BullMQ over
 * Redis (the queue a team would otherwise pick), and the peer a team would really build:
 * BullMQ whose worker writes a status and a log document per job to the same MongoDB-protocol
 * server as Herald, as Novu's does.
 */

import { runBullmqBaseline } from '../baselines/bullmq';
import { runKafkajsBaseline, type BaselineResult } from '../baselines/kafkajs-loop';
import type { BenchContext } from '../context';
import { hookUrl } from '../herald/requests';
import { MAX_IN_FLIGHT, PARTITION_CONCURRENCY } from '../herald/services';
import { errorMessage, say } from '../log';
import { dropDatabase, scenarioServers } from '../servers';
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

/** Undefined without Redis. Its own database, dropped after it. */
export async function bullmqMongoPeer(context: BenchContext): Promise<BaselineResult | undefined> {
  const { redisUrl, servers, sim, settings, runId } = context;
  if (!redisUrl) return undefined;
  const { mongoUri } = scenarioServers(servers, runId, 'peer');
  try {
    return await measureBaseline(context, 'BullMQ + MongoDB peer', () =>
      runBullmqBaseline({
        redisUrl,
        targetUrl: (i) => hookUrl(sim.url, 'ok', `${runId}-peer-${i}`),
        messages: settings.burst,
        concurrency: MAX_IN_FLIGHT,
        runId,
        mongoUri,
      }),
    );
  } finally {
    await dropDatabase(mongoUri).catch((error: unknown) =>
      context.notes.push(`dropping ${mongoUri} failed: ${errorMessage(error)}`),
    );
  }
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
