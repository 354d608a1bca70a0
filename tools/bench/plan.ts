/**
 * What a bench run does: the scenarios it knows, the command line (--quick, --only) and the
 * sizes of each run, full or quick.
 */

/** In the order the bench runs them. */
const SCENARIOS = [
  'kafkajs',
  'bullmq',
  'peer',
  'instant',
  'latency100',
  'halfload',
  'retry',
  'apikey',
  'webhooks',
  'idle',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const USAGE = `usage: npm run bench [-- --quick] [-- --only <scenario>[,<scenario>...]]

  --quick   a few minutes in all: 5,000 messages per throughput run instead of
            20,000, 10 s against the 100 ms provider instead of 15 s, 6 s at half load
            instead of 20 s, 100 retries due 1-15 s ahead instead of 300 due 1-60 s ahead,
            100 warm-up messages instead of 300, 500 POSTs and 20,000 key checks
            instead of 2,000 and 100,000, 5,000 webhook deliveries per webhooks run
            instead of 20,000, 30 s at rest instead of 60 s.
  --only    runs just these of ${SCENARIOS.join(', ')} (halfload needs instant), prints
            the table and leaves tools/bench/RESULTS.md alone: for trying a change.

Needs the apps built (npm run build; the bench builds only when dist/ is missing). Starts the
servers (scripts/infra.sh up) and Redis (scripts/infra/redis.sh) if they are not running and
stops them afterwards; servers it found running are left running.`;

export type Arguments =
  | { kind: 'help' }
  | { kind: 'invalid'; unknown: string[] }
  | { kind: 'run'; quick: boolean; only: Scenario[] | undefined };

export function parseArguments(args: readonly string[]): Arguments {
  if (args.includes('--help') || args.includes('-h')) return { kind: 'help' };
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  // Without --only, onlyAt + 1 is 0: the first argument must still be checked.
  const isOnly = (i: number) => onlyAt >= 0 && (i === onlyAt || i === onlyAt + 1);
  const unknown = args.filter((arg, i) => arg !== '--quick' && !isOnly(i));
  const badScenario = only?.find((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0 || (only && only.length === 0) || badScenario) {
    return { kind: 'invalid', unknown };
  }
  return { kind: 'run', quick: args.includes('--quick'), only: only as Scenario[] | undefined };
}

export interface Plan {
  quick: boolean;
  /** Messages per burst throughput run (Herald instant, and both baselines). */
  burst: number;
  /** Warm-up messages before each Herald measurement (not counted), and their time limit. */
  warmUp: number;
  warmUpTimeoutMs: number;
  /** How many times the instant-provider burst runs; the report gives their median. */
  instantRuns: number;
  /** Time limit of the instant-provider run; past it the run counts as incomplete. */
  burstTimeoutMs: number;
  /** Provider latency of the second throughput run, and how long that run should last. */
  slowLatencyMs: number;
  slowSeconds: number;
  /** Seconds of steady load at half the instant throughput. */
  halfLoadSeconds: number;
  retryMessages: number;
  retryMaxSeconds: number;
  /**
   * Webhook deliveries per webhooks throughput run, with 1 endpoint and with `webhookEndpoints`
   * (every message is delivered to each, so that run has 1/webhookEndpoints as many messages),
   * and each run's time limit. The half-load run lasts halfLoadSeconds.
   */
  webhookDeliveries: number;
  webhookEndpoints: number;
  webhookTimeoutMs: number;
  /** Seconds the idle run measures, once with the broker alone and once with every service. */
  idleSeconds: number;
}

export function plan(quick: boolean): Plan {
  return quick
    ? {
        quick,
        burst: 5_000,
        warmUp: 100,
        warmUpTimeoutMs: 30_000,
        instantRuns: 3,
        burstTimeoutMs: 40_000,
        slowLatencyMs: 100,
        slowSeconds: 10,
        halfLoadSeconds: 6,
        retryMessages: 100,
        retryMaxSeconds: 15,
        webhookDeliveries: 5_000,
        webhookEndpoints: 100,
        webhookTimeoutMs: 60_000,
        idleSeconds: 30,
      }
    : {
        quick,
        burst: 20_000,
        warmUp: 300,
        warmUpTimeoutMs: 60_000,
        instantRuns: 3,
        burstTimeoutMs: 180_000,
        slowLatencyMs: 100,
        slowSeconds: 15,
        halfLoadSeconds: 20,
        retryMessages: 300,
        retryMaxSeconds: 60,
        webhookDeliveries: 20_000,
        webhookEndpoints: 100,
        webhookTimeoutMs: 240_000,
        idleSeconds: 60,
      };
}
