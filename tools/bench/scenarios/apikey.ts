/**
 * What the key check adds to a POST /v1/messages. Two figures from one run: the POST's own
 * latency, serial requests with the bench tenant's key over one keep-alive connection against
 * freshly started services; and the check alone, in this process, exactly the work the access
 * guard does for a secret key on every request once the key is cached (parse the header,
 * SHA-256 the key, look the hash up, compare in constant time). Their ratio is the share of the
 * POST's p50 the check costs.
 */

import { bearerCredential } from '@herald/access';
import { ApiKeys, type ApiKeyDocument, type ApiKeyStore } from '@herald/auth';
import type { BenchContext } from '../context';
import { hookUrl } from '../herald/requests';
import { BENCH_KEY } from '../herald/services';
import { say } from '../log';
import { distribution, formatMs, type Distribution } from '../stats';
import { withFreshServices } from './herald-scenario';

export interface ApiKeyResult {
  posts: number;
  /** POST /v1/messages → 202, with the key, ms. */
  post: Distribution;
  checks: number;
  /** The guard's work for one cached secret key, ms. */
  check: Distribution;
}

export function apiKeyCost(context: BenchContext): Promise<ApiKeyResult | undefined> {
  const { settings, runId, sim } = context;
  return withFreshServices(context, 'apikey', async (services) => {
    const url = `http://127.0.0.1:${services.port('ingest')}/v1/messages`;
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${BENCH_KEY.key}`,
    };
    const post = async (i: number): Promise<number> => {
      const body = JSON.stringify({
        messageId: `${runId}-apikey-${i}`,
        channel: 'webhook',
        provider: 'webhook',
        recipient: hookUrl(sim.url, 'ok', `${runId}-apikey-${i}`),
        content: { text: 'bench' },
      });
      const started = performance.now();
      const response = await fetch(url, { method: 'POST', headers, body });
      await response.arrayBuffer();
      const took = performance.now() - started;
      if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
      return took;
    };
    const warmUp = 50;
    const posts = settings.quick ? 500 : 2_000;
    for (let i = 0; i < warmUp; i += 1) await post(i);
    const postTimes: number[] = [];
    for (let i = warmUp; i < warmUp + posts; i += 1) postTimes.push(await post(i));

    const checks = settings.quick ? 20_000 : 100_000;
    const checkTimes = await timeKeyChecks(checks);
    const result = {
      posts,
      post: distribution(postTimes),
      checks,
      check: distribution(checkTimes),
    };
    say(
      `  POST p50 ${formatMs(result.post.p50)} (${posts} serial); key check p50 ` +
        `${(result.check.p50 * 1000).toFixed(1)} µs (${checks} checks)`,
    );
    return result;
  });
}

/**
 * The guard's work for a cached key, timed call by call. The cache is filled from a store that
 * holds just this key: a cached key is never read from the store, so which store does not matter.
 */
async function timeKeyChecks(count: number): Promise<number[]> {
  const store = {
    bootstrap: async () => undefined,
    all: async () => [],
    findByHash: async (hash: string): Promise<ApiKeyDocument> => ({
      _id: hash,
      id: 'key_bench',
      tenantId: BENCH_KEY.tenantId,
      source: 'env',
      createdAt: 0,
      lastUsedAt: null,
      revokedAt: null,
    }),
    touch: async () => undefined,
  } as unknown as ApiKeyStore;
  const keys = new ApiKeys(store, { refreshMs: 60_000, bootstrap: [] });
  const header = `Bearer ${BENCH_KEY.key}`;
  try {
    for (let i = 0; i < 1_000; i += 1) await keys.authenticate(bearerCredential(header)!);
    const times: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      const principal = await keys.authenticate(bearerCredential(header)!);
      times.push(performance.now() - started);
      if (!principal) throw new Error('the bench key did not authenticate');
    }
    return times;
  } finally {
    keys.stop();
  }
}
