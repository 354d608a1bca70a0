/**
 * What a bench run measured, scenario by scenario, as the report reads it. A scenario that
 * was not run, or failed, leaves its entry undefined.
 */

import type { AppName } from '@tools/harness';
import type { PacedResult, Throughput } from './herald/load';
import type { RetryPrecisionResult } from './herald/retry-precision';
import type { ApiKeyResult } from './scenarios/apikey';
import type { IdleResult } from './scenarios/idle';
import type { WebhooksResult } from './scenarios/webhooks';

export interface Results {
  partitions?: number;
  kafkajs?: Throughput;
  bullmq?: Throughput;
  /** BullMQ with a status and a log document per job in MongoDB (the peer). */
  peer?: Throughput;
  instant?: Throughput;
  slow?: Throughput;
  paced?: PacedResult;
  retry?: RetryPrecisionResult;
  apikey?: ApiKeyResult;
  webhooks?: WebhooksResult;
  idle?: IdleResult;
  /** Per service: the highest peak RSS over the scenarios, and which scenario it was in. */
  rss: Map<AppName, { bytes: number; scenario: string }>;
}

/** Keeps a process's peak RSS if it is the highest seen for it so far. */
export function recordRss(results: Results, name: AppName, bytes: number, scenario: string) {
  const known = results.rss.get(name);
  if (Number.isFinite(bytes) && (!known || bytes > known.bytes)) {
    results.rss.set(name, { bytes, scenario });
  }
}
