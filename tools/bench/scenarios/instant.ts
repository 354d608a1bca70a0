/**
 * Herald's end-to-end throughput against an instant provider: a burst of `settings.burst`
 * messages after a warm-up. Its rate sizes the 100 ms provider run and sets the half load.
 */

import { TOPICS } from '@herald/topics';
import type { BenchContext } from '../context';
import type { Throughput } from '../herald/load';
import { topicPartitions } from '../servers';
import { timedBurst, withFreshServices } from './herald-scenario';

export function instantThroughput(context: BenchContext): Promise<Throughput | undefined> {
  const { settings, producer, results } = context;
  return withFreshServices(context, 'instant', async (services) => {
    results.partitions = await topicPartitions(producer.client, TOPICS.messagesRequested.name);
    return timedBurst(context, services, {
      name: 'instant',
      messages: settings.burst,
      latencyMs: 0,
      timeoutMs: settings.burstTimeoutMs,
    });
  });
}
