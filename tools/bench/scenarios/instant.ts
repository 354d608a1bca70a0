/**
 * Herald's end-to-end throughput against an instant provider: a burst of `settings.burst`
 * messages after a warm-up, `settings.instantRuns` times on the same services, reported as
 * their median (rate, and CPU per message process by process). Its rate sizes the 100 ms
 * provider run and sets the half load.
 */

import { TOPICS } from '@herald/topics';
import type { BenchContext } from '../context';
import { medianOfRuns, type Throughput } from '../herald/load';
import { say } from '../log';
import { formatRate } from '../stats';
import { topicPartitions } from '../servers';
import { timedBurst, withFreshServices } from './herald-scenario';

export function instantThroughput(context: BenchContext): Promise<Throughput | undefined> {
  const { settings, producer, results } = context;
  return withFreshServices(context, 'instant', async (services) => {
    results.partitions = await topicPartitions(producer.client, TOPICS.messagesRequested.name);
    const runs: Throughput[] = [];
    for (let run = 1; run <= settings.instantRuns; run++) {
      runs.push(
        await timedBurst(context, services, {
          // Each run its own message ids, or ingest would take them for repeats.
          name: run === 1 ? 'instant' : `instant-${run}`,
          messages: settings.burst,
          latencyMs: 0,
          timeoutMs: settings.burstTimeoutMs,
        }),
      );
    }
    const median = medianOfRuns(runs);
    if (runs.length > 1) {
      say(`  median of ${runs.length}: ${formatRate(median.perSecond)}`);
    }
    return median;
  });
}
