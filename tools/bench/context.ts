/**
 * What every scenario shares: the run (its plan, id, log folder, results, failures, notes and
 * cleanups) and what the run sets up before the first scenario (built apps, the servers,
 * Redis for BullMQ, one provider simulator and one request producer).
 */

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { entryOf, REPO_ROOT, staleSource } from '@tools/harness';
import { Cleanups } from './cleanups';
import { RequestProducer } from './herald/requests';
import { APPS, startSimulator, stopBenchProcess, type SimulatorProcess } from './herald/services';
import { say } from './log';
import type { Plan } from './plan';
import { recordRss, type Results } from './results';
import {
  assertMongoAnswers,
  ensureRedisRunning,
  ensureServersRunning,
  runServers,
  type Servers,
} from './servers';
import { runCommand } from './shell';

export interface BenchRun {
  readonly settings: Plan;
  readonly runId: string;
  /** Every process's log, and its CPU profile with BENCH_CPU_PROFILE=1. */
  readonly logDir: string;
  readonly results: Results;
  /** Runs that did not complete: each fails the bench. */
  readonly failures: string[];
  /** What the report should say besides the figures. */
  readonly notes: string[];
  readonly cleanups: Cleanups;
}

export interface BenchContext extends BenchRun {
  readonly servers: Servers;
  /** The simulator of the throughput and latency runs (recording off: it costs throughput). */
  readonly sim: SimulatorProcess;
  readonly producer: RequestProducer;
  /** Undefined when BullMQ was not asked for or Redis could not start. */
  readonly redisUrl: string | undefined;
}

export function newRun(settings: Plan): BenchRun {
  const runId = Date.now().toString(36);
  const logDir = join(
    process.env.HERALD_RUN_DIR ?? join(REPO_ROOT, '.herald'),
    'logs',
    `bench-${runId}`,
  );
  mkdirSync(logDir, { recursive: true });
  return {
    settings,
    runId,
    logDir,
    results: { rss: new Map() },
    failures: [],
    notes: [],
    cleanups: new Cleanups(),
  };
}

/** Sets up what the scenarios run on; each thing started is stopped by the run's cleanups. */
export async function prepare(run: BenchRun, options: { redis: boolean }): Promise<BenchContext> {
  ensureBuilt(run.notes);
  ensureServersRunning(run.cleanups);
  const servers = runServers(run.runId);
  say(
    `servers: Kafka ${servers.brokers.join(',')}, registry ${servers.registryUrl}, ` +
      `${servers.mongoUri}_<scenario> (each dropped after it)`,
  );
  await assertMongoAnswers(servers);
  const redisUrl = options.redis ? ensureRedisRunning(run.cleanups, run.failures) : undefined;

  const sim = await startSimulator({ logDir: run.logDir, label: 'load', recording: false });
  run.cleanups.push('stop the simulator', async () =>
    recordRss(run.results, 'provider-sim', await stopBenchProcess(sim), 'load'),
  );
  const producer = await RequestProducer.connect(servers);
  run.cleanups.push('close the producer', () => producer.close());
  return { ...run, servers, sim, producer, redisUrl };
}

/** Builds only when an app's bundle is missing; otherwise warns when sources are newer. */
function ensureBuilt(notes: string[]): void {
  const missing = APPS.filter((app) => !existsSync(entryOf(app)));
  if (missing.length > 0) {
    say(`dist/ lacks ${missing.join(', ')}: running npm run build`);
    if (runCommand('npm', ['run', 'build'], { inherit: true }).status !== 0) {
      throw new Error('npm run build failed');
    }
    return;
  }
  const stale = APPS.flatMap((app) => {
    const newer = staleSource(app);
    return newer ? [`${app} (${newer})`] : [];
  });
  if (stale.length > 0) {
    const note =
      `dist/ is older than the sources of ${stale.join(', ')}: the bench measures dist/ as ` +
      'built; run `npm run build` to measure the working tree';
    say(`WARNING: ${note}`);
    notes.push(note);
  }
}
