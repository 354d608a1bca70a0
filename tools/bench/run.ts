/**
 * npm run bench [-- --quick]
 *
 * Measures Herald end to end on this machine against the real local servers and the provider
 * simulator, side by side with two baselines run on the same broker in the same run (a minimal
 * kafkajs consume → POST → produce loop, and BullMQ over Redis), prints a table, appends it to
 * bench/RESULTS.md with the date, machine, versions and commit, and exits non-zero if a run
 * failed to complete or any retry fired early. Targets missed are reported, not failed.
 *
 * Each Herald scenario gets freshly started services (their metrics start at zero, and their
 * peak RSS is the scenario's), one instance of each, against the run's own MongoDB database.
 */

import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { ServiceName } from '@herald/config';
import { TOPICS } from '@herald/topics';
import { runBullmqBaseline } from './baselines/bullmq';
import { ROLES, type CpuUsage } from './cpu-usage';
import { runKafkajsBaseline, type BaselineResult } from './baselines/kafkajs-loop';
import {
  HeraldServices,
  hookUrl,
  describeBacklogs,
  MAX_IN_FLIGHT,
  measureBurst,
  measurePaced,
  PARTITION_CONCURRENCY,
  RequestProducer,
  SERVICES,
  skipOwnBacklog,
  startSimulator,
  stopBenchProcess,
  warmUp,
  type PacedResult,
  type Servers,
  type SimulatorProcess,
  type Throughput,
} from './herald';
import { entryOf, killAllStarted, REPO_ROOT, staleSource } from '@tools/harness';
import {
  assertComplete,
  measureRetryPrecision,
  type RetryPrecisionResult,
} from './retry-precision';
import { formatInt, formatMb, formatMs, formatRate, formatRatio, markdownTable } from './stats';

const SCENARIOS = ['kafkajs', 'bullmq', 'instant', 'latency100', 'halfload', 'retry'] as const;
type Scenario = (typeof SCENARIOS)[number];

const USAGE = `usage: npm run bench [-- --quick] [-- --only <scenario>[,<scenario>...]]

  --quick   everything in under 3 minutes: 5,000 messages per throughput run instead of
            20,000, 10 s against the 100 ms provider instead of 15 s, 6 s at half load
            instead of 20 s, 100 retries due 1-15 s ahead instead of 300 due 1-60 s ahead,
            100 warm-up messages instead of 300.
  --only    runs just these of ${SCENARIOS.join(', ')} (halfload needs instant), prints
            the table and leaves bench/RESULTS.md alone: for trying a change.

Needs the apps built (npm run build; the bench builds only when dist/ is missing). Starts the
servers (scripts/infra.sh up) and Redis (scripts/infra/redis.sh) if they are not running and
stops them afterwards; servers it found running are left running.`;

interface Plan {
  quick: boolean;
  /** Messages per burst throughput run (Herald instant, and both baselines). */
  burst: number;
  /** Warm-up messages before each Herald measurement (not counted), and their time limit. */
  warmUp: number;
  warmUpTimeoutMs: number;
  /** Time limit of the instant-provider run; past it the run counts as incomplete. */
  burstTimeoutMs: number;
  /** Provider latency of the second throughput run, and how long that run should last. */
  slowLatencyMs: number;
  slowSeconds: number;
  /** Seconds of steady load at half the instant throughput. */
  halfLoadSeconds: number;
  retryMessages: number;
  retryMaxSeconds: number;
}

function plan(quick: boolean): Plan {
  return quick
    ? {
        quick,
        burst: 5_000,
        warmUp: 100,
        warmUpTimeoutMs: 30_000,
        burstTimeoutMs: 40_000,
        slowLatencyMs: 100,
        slowSeconds: 10,
        halfLoadSeconds: 6,
        retryMessages: 100,
        retryMaxSeconds: 15,
      }
    : {
        quick,
        burst: 20_000,
        warmUp: 300,
        warmUpTimeoutMs: 60_000,
        burstTimeoutMs: 180_000,
        slowLatencyMs: 100,
        slowSeconds: 15,
        halfLoadSeconds: 20,
        retryMessages: 300,
        retryMaxSeconds: 60,
      };
}

// ---------------------------------------------------------------------------------------------
// Output and shell helpers

const benchStart = Date.now();

function say(line: string): void {
  const elapsed = Math.round((Date.now() - benchStart) / 1000);
  const stamp = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, '0')}`;
  process.stderr.write(`[bench ${stamp}] ${line}\n`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function run(
  command: string,
  args: string[],
  options: { inherit?: boolean; env?: Record<string, string> } = {},
): { status: number; stdout: string } {
  const result = spawnSync(command, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    // Progress of infra scripts goes to our stderr, so stdout keeps only the results.
    stdio: options.inherit
      ? ['ignore', process.stderr, process.stderr]
      : ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status ?? 1, stdout: result.stdout ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Preconditions: built apps, servers, Redis

const APPS = [...SERVICES, 'provider-sim'] as const;

/** Builds only when an app's bundle is missing; otherwise warns when sources are newer. */
function ensureBuilt(notes: string[]): void {
  const missing = APPS.filter((app) => !existsSync(entryOf(app)));
  if (missing.length > 0) {
    say(`dist/ lacks ${missing.join(', ')}: running npm run build`);
    if (run('npm', ['run', 'build'], { inherit: true }).status !== 0) {
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

function infraMode(): 'docker' | 'local' {
  const forced = process.env.HERALD_INFRA_MODE;
  if (forced === 'docker' || forced === 'local') return forced;
  return run('docker', ['info']).status === 0 ? 'docker' : 'local';
}

function serversFromInfraEnv(runId: string): Servers {
  const { status, stdout } = run('bash', ['scripts/infra.sh', 'env']);
  if (status !== 0) throw new Error('scripts/infra.sh env failed');
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
  }
  const brokers = env.KAFKA_BROKERS;
  const registryUrl = env.SCHEMA_REGISTRY_URL;
  const mongo = env.MONGODB_URI;
  if (!brokers || !registryUrl || !mongo)
    throw new Error('scripts/infra.sh env printed too little');
  return {
    brokers: brokers.split(','),
    registryUrl,
    mongoUri: databaseUri(mongo, `herald_bench_${runId}`),
  };
}

function databaseUri(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}

// ---------------------------------------------------------------------------------------------
// Machine, versions, commit

function scriptDefault(file: string, pattern: RegExp): string {
  try {
    return pattern.exec(readFileSync(join(REPO_ROOT, file), 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return '?';
  }
}

function machineLine(): string {
  let distro = `${os.type()}`;
  try {
    distro =
      /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux, or no os-release
  }
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${distro} (${os.type()} ${os.release()} ${os.arch()}); ${model}, ${cpus.length} cores; ${memory} GiB RAM`;
}

function versionsLine(mode: 'docker' | 'local'): string {
  let servers: string;
  if (mode === 'docker') {
    const compose = (() => {
      try {
        return readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
      } catch {
        return '';
      }
    })();
    const images = [...compose.matchAll(/image:\s*(\S+)/g)].map((m) => m[1]).join(', ');
    servers = `Docker images ${images}`;
  } else {
    const kafka =
      process.env.KAFKA_VERSION ??
      scriptDefault('scripts/infra/kafka.sh', /KAFKA_VERSION="\$\{KAFKA_VERSION:-([^}]+)\}"/);
    const ferret =
      process.env.FERRETDB_VERSION ??
      scriptDefault(
        'scripts/infra/ferretdb.sh',
        /FERRETDB_VERSION="\$\{FERRETDB_VERSION:-([^}]+)\}"/,
      );
    const apicurio = scriptDefault('scripts/infra/schema-registry.sh', /APICURIO_VERSION=(\S+)/);
    servers = `Kafka ${kafka}, FerretDB ${ferret}, Apicurio Registry ${apicurio}`;
  }
  const redis = /v=(\S+)/.exec(run('redis-server', ['--version']).stdout)?.[1] ?? '?';
  return (
    `node ${process.version}; ${servers}; Redis ${redis}; kafkajs ${packageVersion('kafkajs')}, ` +
    `BullMQ ${packageVersion('bullmq')}`
  );
}

function commitLine(): string {
  const head = run('git', ['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'unknown (not a git checkout)';
  // --no-optional-locks: a status that never writes the index. Entries the bench appended and
  // nobody committed yet do not make the code measured any different.
  const status = run('git', [
    '--no-optional-locks',
    'status',
    '--porcelain',
    '--',
    '.',
    ':(exclude)bench/RESULTS.md',
  ]);
  const dirty = status.stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Results {
  partitions?: number;
  kafkajs?: Throughput;
  bullmq?: Throughput;
  instant?: Throughput;
  slow?: Throughput;
  paced?: PacedResult;
  retry?: RetryPrecisionResult;
  /** Per service: the highest peak RSS over the scenarios, and which scenario it was in. */
  rss: Map<ServiceName | 'provider-sim', { bytes: number; scenario: string }>;
}

function recordRss(
  results: Results,
  name: ServiceName | 'provider-sim',
  bytes: number,
  scenario: string,
) {
  const known = results.rss.get(name);
  if (Number.isFinite(bytes) && (!known || bytes > known.bytes)) {
    results.rss.set(name, { bytes, scenario });
  }
}

async function topicPartitions(servers: Servers, topic: string): Promise<number | undefined> {
  const kafka = new Kafka({
    clientId: 'herald-bench-admin',
    brokers: servers.brokers,
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

/** Bounded: a MongoDB-protocol server that accepts connections but never answers must not hang the bench. */
async function withMongo<T>(
  uri: string,
  timeoutMs: number,
  body: (client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    return await Promise.race([
      body(client),
      sleep(timeoutMs).then(() => {
        throw new Error(`no answer within ${timeoutMs / 1000} s`);
      }),
    ]);
  } finally {
    await client.close(true).catch(() => undefined);
  }
}

async function dropDatabase(uri: string): Promise<void> {
  await withMongo(uri, 30_000, (client) => client.db().dropDatabase());
}

/** Skips what this run left unfinished on Herald's topics (see skipOwnBacklog). */
async function leaveTopicsClean(servers: Servers, runId: string, notes: string[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'herald-bench-cleanup',
    brokers: servers.brokers,
    logLevel: logLevel.ERROR,
  });
  let result = await skipOwnBacklog(kafka, `${runId}-`);
  if (result.busyGroups.length > 0) {
    // A member killed rather than stopped stays in its group until its session times out.
    say(`waiting for ${result.busyGroups.join(', ')} to have no members`);
    await sleep(35_000);
    const again = await skipOwnBacklog(kafka, `${runId}-`);
    result = { skipped: result.skipped + again.skipped, busyGroups: again.busyGroups };
  }
  if (result.skipped > 0) {
    const note =
      `${result.skipped} record(s) this run left unfinished on Herald's topics were skipped ` +
      "(the Herald consumer groups' offsets moved past them)";
    say(note);
    notes.push(note);
  }
  if (result.busyGroups.length > 0) {
    const note =
      `could not check for unfinished records of this run in ${result.busyGroups.join(', ')}: ` +
      'another Herald is consuming there';
    say(note);
    notes.push(note);
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  const unknown = args.filter((arg, i) => arg !== '--quick' && i !== onlyAt && i !== onlyAt + 1);
  const badScenario = only?.find((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0 || (only && only.length === 0) || badScenario) {
    process.stderr.write(`unknown argument ${unknown.join(' ')}\n${USAGE}\n`);
    return 2;
  }
  const settings = plan(args.includes('--quick'));
  const wanted = (name: Scenario): boolean => !only || only.includes(name);
  const runId = Date.now().toString(36);
  const logDir = join(
    process.env.HERALD_RUN_DIR ?? join(REPO_ROOT, '.herald'),
    'logs',
    `bench-${runId}`,
  );
  mkdirSync(logDir, { recursive: true });
  const failures: string[] = [];
  const notes: string[] = [];
  const results: Results = { rss: new Map() };
  const cleanups: Array<{ what: string; run: () => Promise<void> | void }> = [];

  const cleanUp = async (): Promise<void> => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      if (!cleanup) break;
      try {
        await cleanup.run();
      } catch (error) {
        say(`cleanup (${cleanup.what}) failed: ${message(error)}`);
      }
    }
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${signal}: stopping what the bench started`);
    killAllStarted();
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say(`run ${runId}${settings.quick ? ' (quick)' : ''}; logs in ${relative(REPO_ROOT, logDir)}/`);
  try {
    ensureBuilt(notes);

    if (run('bash', ['scripts/infra.sh', 'status']).status !== 0) {
      say('servers are not all running: scripts/infra.sh up');
      cleanups.push({
        what: 'scripts/infra.sh down',
        run: () => {
          say('stopping the servers the bench started: scripts/infra.sh down');
          run('bash', ['scripts/infra.sh', 'down'], { inherit: true });
        },
      });
      if (run('bash', ['scripts/infra.sh', 'up'], { inherit: true }).status !== 0) {
        throw new Error('scripts/infra.sh up failed');
      }
    }
    const servers = serversFromInfraEnv(runId);
    say(
      `servers: Kafka ${servers.brokers.join(',')}, registry ${servers.registryUrl}, ` +
        `${servers.mongoUri}_<scenario> (each dropped after it)`,
    );
    try {
      await withMongo(servers.mongoUri, 10_000, (client) => client.db().command({ ping: 1 }));
    } catch (error) {
      throw new Error(
        `MongoDB at ${servers.mongoUri} does not answer a ping (${message(error)}); if it is the ` +
          'local FerretDB, restart it: bash scripts/infra/ferretdb.sh stop && bash scripts/infra/ferretdb.sh start',
      );
    }

    let redisUrl: string | undefined;
    if (!wanted('bullmq')) {
      // not asked for
    } else if (run('bash', ['scripts/infra/redis.sh', 'status']).status !== 0) {
      say('starting Redis for the BullMQ baseline: scripts/infra/redis.sh start');
      if (run('bash', ['scripts/infra/redis.sh', 'start'], { inherit: true }).status === 0) {
        cleanups.push({
          what: 'scripts/infra/redis.sh stop',
          run: () => {
            run('bash', ['scripts/infra/redis.sh', 'stop'], { inherit: true });
          },
        });
        redisUrl = run('bash', ['scripts/infra/redis.sh', 'url']).stdout.trim();
      } else {
        failures.push('BullMQ baseline: scripts/infra/redis.sh start failed');
      }
    } else {
      redisUrl = run('bash', ['scripts/infra/redis.sh', 'url']).stdout.trim();
    }

    // One simulator for the throughput and latency runs (recording off: it costs throughput).
    const sim: SimulatorProcess = await startSimulator({ logDir, label: 'load', recording: false });
    cleanups.push({
      what: 'stop the simulator',
      run: async () => recordRss(results, 'provider-sim', await stopBenchProcess(sim), 'load'),
    });
    const producer = await RequestProducer.connect(servers);
    cleanups.push({ what: 'close the producer', run: () => producer.close() });

    // --- Baselines, on the same broker and simulator --------------------------------------
    /** A baseline's run, its rate said, or its failure recorded. */
    const baseline = async (
      label: string,
      measure: () => Promise<BaselineResult>,
    ): Promise<BaselineResult | undefined> => {
      say(`baseline: ${label}, ${formatInt(settings.burst)} messages`);
      try {
        const result = await measure();
        say(`  ${formatRate(result.perSecond)}`);
        return result;
      } catch (error) {
        failures.push(`${label} baseline: ${message(error)}`);
        say(`  failed: ${message(error)}`);
        return undefined;
      }
    };
    if (wanted('kafkajs')) {
      results.kafkajs = await baseline('kafkajs loop', () =>
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
    if (redisUrl && wanted('bullmq')) {
      const url = redisUrl;
      results.bullmq = await baseline('BullMQ', () =>
        runBullmqBaseline({
          redisUrl: url,
          targetUrl: (i) => hookUrl(sim.url, 'ok', `${runId}-bullmq-${i}`),
          messages: settings.burst,
          concurrency: MAX_IN_FLIGHT,
          runId,
        }),
      );
    }

    // --- Herald scenarios, fresh services each ---------------------------------------------
    const scenario = async <T>(
      name: string,
      body: (services: HeraldServices) => Promise<T>,
    ): Promise<T | undefined> => {
      say(`herald ${name}: starting the services`);
      let services: HeraldServices | undefined;
      // Each scenario its own read model: FerretDB v1 finds a document by _id with a scan of the
      // whole collection, so a database shared across scenarios would make each run's updates
      // slower than the last and the scenarios' figures depend on their order.
      const scenarioServers = {
        ...servers,
        mongoUri: databaseUri(servers.mongoUri, `herald_bench_${runId}_${name}`),
      };
      try {
        services = await HeraldServices.start({
          servers: scenarioServers,
          runId,
          scenario: name,
          logDir,
        });
        await services.assertProjectorMetrics();
        return await body(services);
      } catch (error) {
        failures.push(`herald ${name}: ${message(error).split('\n')[0]}`);
        say(`  failed: ${message(error)}`);
        return undefined;
      } finally {
        if (services) {
          for (const [service, bytes] of await services.stop()) {
            recordRss(results, service, bytes, name);
          }
          const findings = services.logFindings();
          if (findings) notes.push(`${name}, in the service logs: ${findings}`);
        }
        await dropDatabase(scenarioServers.mongoUri).catch((error: unknown) =>
          notes.push(`dropping ${scenarioServers.mongoUri} failed: ${message(error)}`),
        );
        await Promise.race([
          leaveTopicsClean(servers, runId, notes),
          sleep(150_000).then(() => {
            throw new Error('gave up after 150 s');
          }),
        ]).catch((error: unknown) =>
          notes.push(`checking for unfinished records of this run failed: ${message(error)}`),
        );
      }
    };
    /** Returns the warm-up messages still unsent at its time limit (0 normally). */
    const warm = async (services: HeraldServices, name: string, latencyMs = 0): Promise<number> => {
      const { quiet, leftover } = await warmUp(services, producer, {
        simUrl: sim.url,
        tenantId: `${runId}-warmup`,
        idPrefix: `${runId}-${name}-warmup`,
        count: settings.warmUp,
        latencyMs,
        timeoutMs: settings.warmUpTimeoutMs,
      });
      if (leftover > 0) {
        const note =
          `${name}: warm-up unfinished after ${settings.warmUpTimeoutMs / 1000} s ` +
          `(${leftover} of ${settings.warmUp} unsent); they are counted in the measurement`;
        say(`  ${note}`);
        notes.push(note);
      } else if (!quiet) {
        notes.push(
          `${name}: the pipeline never went quiet after warm-up (someone else producing?)`,
        );
      }
      return leftover;
    };
    const burst = async (
      services: HeraldServices,
      name: string,
      messages: number,
      latencyMs: number,
      timeoutMs: number,
      leftover: number,
    ): Promise<Throughput> => {
      say(`herald ${name}: ${formatInt(messages)} messages (at most ${timeoutMs / 1000} s)`);
      const result = await measureBurst(services, producer, {
        simUrl: sim.url,
        tenantId: runId,
        idPrefix: `${runId}-${name}`,
        messages,
        latencyMs,
        timeoutMs,
        leftover,
      });
      say(`  ${formatRate(result.perSecond)} (${result.seconds.toFixed(2)} s)`);
      if (result.backlogs) {
        const profile = describeBacklogs(result.backlogs);
        say(`  backlog per stage: ${profile}`);
        say(
          '  per second (ingest/sender/projector): ' +
            result.backlogs
              .map((b) => `${b.backlog.ingest}/${b.backlog.sender}/${b.backlog.projector}`)
              .join(' '),
        );
        notes.push(`${name}: backlog per stage (records consumed but not committed): ${profile}`);
      }
      if (!result.complete) {
        failures.push(
          `herald ${name}: incomplete, ${formatInt(result.messages)} of ${formatInt(result.produced ?? messages)} ` +
            `sent in ${result.seconds.toFixed(0)} s`,
        );
      }
      return result;
    };

    if (wanted('instant'))
      results.instant = await scenario('instant', async (services) => {
        results.partitions = await topicPartitions(servers, TOPICS.messagesRequested.name);
        const leftover = await warm(services, 'instant');
        return burst(services, 'instant', settings.burst, 0, settings.burstTimeoutMs, leftover);
      });

    // Sized to last slowSeconds at the rate it should reach: min(instant rate, in-flight ÷ latency).
    const slowRate = Math.max(
      10,
      Math.min(results.instant?.perSecond ?? 1000, MAX_IN_FLIGHT / (settings.slowLatencyMs / 1000)),
    );
    const slowMessages = Math.ceil((slowRate * settings.slowSeconds) / 100) * 100;
    if (wanted('latency100'))
      results.slow = await scenario('latency100', async (services) => {
        const leftover = await warm(services, 'latency100', settings.slowLatencyMs);
        return burst(
          services,
          'latency100',
          slowMessages,
          settings.slowLatencyMs,
          settings.slowSeconds * 3_000 + 15_000,
          leftover,
        );
      });

    if (!wanted('halfload')) {
      // not asked for
    } else if (results.instant) {
      // At least 1 msg/s, so a Herald that barely moves still gets its latency measured.
      const rate = Math.max(1, results.instant.perSecond / 2);
      if (results.instant.complete === false) {
        notes.push(
          `halfload: the instant run was incomplete, so "half load" is ${formatRate(rate)} ` +
            '(half its partial rate, at least 1 msg/s)',
        );
      }
      results.paced = await scenario('halfload', async (services) => {
        // Only a probe here: the projector's summaries cannot leave a warm-up out.
        const { quiet } = await warmUp(services, producer, {
          simUrl: sim.url,
          tenantId: `${runId}-warmup`,
          idPrefix: `${runId}-halfload-warmup`,
          count: 0,
          timeoutMs: settings.warmUpTimeoutMs,
        });
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
    } else {
      failures.push('herald halfload: skipped, it needs the instant throughput');
    }

    // Retry precision: its own simulator, recording on, so attempt 2's arrival can be read.
    const recordingSim = !wanted('retry')
      ? undefined
      : await startSimulator({ logDir, label: 'retry', recording: true }).catch(
          (error: unknown) => {
            failures.push(`retry precision: simulator: ${message(error)}`);
            return undefined;
          },
        );
    if (recordingSim) {
      try {
        await scenario('retry', async (services) => {
          // The probe only: a warm-up still in flight would load the pipeline being timed.
          await warmUp(services, producer, {
            simUrl: sim.url,
            tenantId: `${runId}-warmup`,
            idPrefix: `${runId}-retry-warmup`,
            count: 0,
            timeoutMs: settings.warmUpTimeoutMs,
          });
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
          results.retry = result;
          assertComplete(result);
          return result;
        });
      } finally {
        recordRss(results, 'provider-sim', await stopBenchProcess(recordingSim), 'retry');
      }
    }
  } catch (error) {
    failures.push(message(error).split('\n')[0] ?? 'failed');
    say(`failed: ${message(error)}`);
  } finally {
    await cleanUp();
  }

  const early = results.retry?.early ?? 0;
  const report = renderReport(settings, results, failures, notes, runId);
  process.stdout.write(`\n${report.table}\n\n${report.targets}\n`);
  if (notes.length > 0)
    process.stdout.write(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (failures.length > 0) {
    process.stdout.write(`\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  }
  const measured = [results.kafkajs, results.bullmq, results.instant, results.slow, results.paced];
  if (only) {
    say('--only: bench/RESULTS.md left as it was');
  } else if (measured.some((result) => result !== undefined) || results.retry) {
    appendResults(report.entry);
    say('appended to bench/RESULTS.md');
  } else {
    say('nothing was measured: bench/RESULTS.md left as it was');
  }
  say(`wall time ${((Date.now() - benchStart) / 1000).toFixed(0)} s`);
  if (early > 0) say(`FAILED: ${early} retries fired before they were due`);
  if (failures.length > 0) say(`FAILED: ${failures.length} run(s) did not complete`);
  return failures.length > 0 || early > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Report

const RESULTS_FILE = join(REPO_ROOT, 'tools', 'bench', 'RESULTS.md');

const RESULTS_HEADER = `# Herald benchmark results

Appended by \`npm run bench\` (code in \`bench/\`; \`npm run bench -- --quick\` is the short run).
Every entry is one run on one machine, against the real local servers (Kafka, the schema
registry, FerretDB), with the provider simulator standing in for the providers and both
baselines measured in the same run on the same broker, simulator and machine.

Columns of the results table:

- **Herald**: the four services as processes (\`node dist/apps/<app>/main.js\`, one instance
  each, restarted per scenario), requests produced as Avro on \`herald.messages.requested\`
  (12 partitions), webhook channel, read back from the projector's \`/metrics\`.
- **kafkajs loop**: \`bench/baselines/kafkajs-loop.ts\`, the least a kafkajs consumer can do to
  turn a record into a POST and an output record (no registry, events, transactions or
  MongoDB): the ceiling of this stack. Same concurrency (512 in flight, 12 partitions).
- **BullMQ**: \`bench/baselines/bullmq.ts\`, the same job on BullMQ over Redis with its
  exponential back-off, the queue a team would otherwise pick. Same concurrency.
- **÷ kafkajs**, **÷ BullMQ**: Herald's throughput over the baseline's (1.00× = as fast).

Rows:

- **e2e throughput**: messages ÷ (first produce → the projector has applied that many new
  \`sent\` events), polled every 100 ms, after a warm-up that is not counted.
- **e2e latency at half load**: produce (\`requestedAt\`) → \`sent\` written to the read model,
  at half the instant throughput (projector's \`herald_projector_request_to_sent_seconds\`).
- **projection lag**: event appended to \`herald.message-events\` → its read-model write done, same
  run (\`herald_projector_projection_lag_seconds\`, all event types).
- **retry lateness**: the simulator's arrival time of attempt 2 − the \`nextAttemptAt\` Herald
  announced in \`delivery_attempted\`, for webhooks answering 429 + \`Retry-After\`; negative = early.
- **peak RSS**: VmHWM of each process, the highest over the scenarios (which one in brackets).

The CPU table: CPU time each process spent in each throughput run's timed window (from
\`/proc\`), per message. "bench" is the load generator, and for the baselines the loop or worker
itself. "cores ÷ CPU per message" is the throughput the same work could reach with every core
busy.
`;

function renderReport(
  settings: Plan,
  results: Results,
  failures: string[],
  notes: string[],
  runId: string,
): { table: string; targets: string; entry: string } {
  const { kafkajs, bullmq, instant, slow, paced, retry } = results;
  // An incomplete run's rate is what it reached before its time limit.
  const rate = (t: Throughput | undefined) =>
    t ? `${formatRate(t.perSecond)}${t.complete === false ? ' (incomplete)' : ''}` : '—';
  const ratio = (t: Throughput | undefined, base: Throughput | undefined) =>
    formatRatio(t?.perSecond ?? NaN, base?.perSecond ?? NaN);
  const trio = (a: number, b: number, c: number) =>
    `${formatMs(a)} / ${formatMs(b)} / ${formatMs(c)}`;
  const rows: string[][] = [
    [
      `e2e throughput, instant provider (${formatInt(instant?.produced ?? settings.burst)} msgs)`,
      rate(instant),
      rate(kafkajs),
      rate(bullmq),
      ratio(instant, kafkajs),
      ratio(instant, bullmq),
    ],
    [
      `e2e throughput, ${settings.slowLatencyMs} ms provider (${formatInt(slow?.produced ?? NaN)} msgs, 1 sender)`,
      slow
        ? `${formatRate(slow.perSecond)} (${slow.complete === false ? 'incomplete, ' : ''}${slow.seconds.toFixed(1)} s)`
        : '—',
      'not run',
      'not run',
      '—',
      '—',
    ],
    [
      `e2e latency p50 / p95 / p99 at half load (${paced ? formatRate(paced.targetRate) : '—'})`,
      paced ? trio(paced.requestToSent.p50, paced.requestToSent.p95, paced.requestToSent.p99) : '—',
      '',
      '',
      '',
      '',
    ],
    [
      'projection lag p50 / p95 / p99 at half load',
      paced ? trio(paced.projectionLag.p50, paced.projectionLag.p95, paced.projectionLag.p99) : '—',
      '',
      '',
      '',
      '',
    ],
    [
      retry
        ? `retry lateness p50 / p99 / max (${retry.measured} retries due ` +
          `${retry.scheduledAheadS.min.toFixed(0)}–${retry.scheduledAheadS.max.toFixed(0)} s ahead)`
        : 'retry lateness p50 / p99 / max',
      retry ? trio(retry.lateness.p50, retry.lateness.p99, retry.lateness.max) : '—',
      '',
      '',
      '',
      '',
    ],
    ['retries fired early', retry ? `${retry.early} of ${retry.measured}` : '—', '', '', '', ''],
  ];
  for (const name of [...SERVICES, 'provider-sim'] as const) {
    const rss = results.rss.get(name);
    rows.push([
      `peak RSS ${name}`,
      rss ? `${formatMb(rss.bytes)} (${rss.scenario})` : '—',
      '',
      '',
      '',
      '',
    ]);
  }
  const table = markdownTable(
    ['measure', 'Herald', 'kafkajs loop', 'BullMQ', '÷ kafkajs', '÷ BullMQ'],
    rows,
  );

  const verdict = (ok: boolean | undefined, figure: string) => [
    ok === undefined ? 'not measured' : ok ? 'met' : 'MISSED',
    figure,
  ];
  const kafkaRatio = instant && kafkajs ? instant.perSecond / kafkajs.perSecond : undefined;
  const bullRatio = instant && bullmq ? instant.perSecond / bullmq.perSecond : undefined;
  const rssServices = SERVICES.map((name) => ({ name, rss: results.rss.get(name) }));
  const worstRss = rssServices.reduce<{ name: string; bytes: number } | undefined>(
    (worst, { name, rss }) =>
      rss && (!worst || rss.bytes > worst.bytes) ? { name, bytes: rss.bytes } : worst,
    undefined,
  );
  const allRss = rssServices.every(({ rss }) => rss !== undefined);
  const targetRows: string[][] = [
    [
      'Herald e2e ≥ 60% of the kafkajs ceiling (instant provider)',
      ...verdict(
        kafkaRatio === undefined ? undefined : kafkaRatio >= 0.6,
        kafkaRatio === undefined || !instant || !kafkajs
          ? '—'
          : `${(kafkaRatio * 100).toFixed(1)}%: ${rate(instant)} vs ${rate(kafkajs)}` +
              (kafkaRatio < 0.6
                ? `, short by ${formatRate(0.6 * kafkajs.perSecond - instant.perSecond)}`
                : ''),
      ),
    ],
    [
      'Herald e2e ≥ BullMQ (instant provider)',
      ...verdict(
        bullRatio === undefined ? undefined : bullRatio >= 1,
        bullRatio === undefined || !instant || !bullmq
          ? '—'
          : `${formatRatio(instant.perSecond, bullmq.perSecond)}: ${rate(instant)} vs ${rate(bullmq)}` +
              (bullRatio < 1
                ? `, short by ${formatRate(bullmq.perSecond - instant.perSecond)}`
                : ''),
      ),
    ],
    [
      `≥ 1,000 msg/s per sender instance, ${settings.slowLatencyMs} ms provider`,
      ...verdict(
        slow ? slow.perSecond >= 1000 : undefined,
        slow
          ? `${rate(slow)} with 1 sender` +
              (slow.perSecond < 1000 ? `, short by ${formatRate(1000 - slow.perSecond)}` : '')
          : '—',
      ),
    ],
    [
      'retry lateness p99 ≤ 250 ms',
      ...verdict(
        retry && retry.measured > 0 ? retry.lateness.p99 <= 250 : undefined,
        retry ? formatMs(retry.lateness.p99) : '—',
      ),
    ],
    [
      'no retry fires early',
      ...verdict(
        retry && retry.measured > 0 ? retry.early === 0 : undefined,
        retry ? `${retry.early} early` : '—',
      ),
    ],
    [
      'projection lag p99 ≤ 500 ms at half load',
      ...verdict(
        paced && Number.isFinite(paced.projectionLag.p99)
          ? paced.projectionLag.p99 <= 500
          : undefined,
        paced ? formatMs(paced.projectionLag.p99) : '—',
      ),
    ],
    [
      'each service ≤ 250 MB RSS',
      ...verdict(
        allRss && worstRss ? worstRss.bytes <= 250 * 1024 * 1024 : undefined,
        worstRss ? `largest: ${worstRss.name} ${formatMb(worstRss.bytes)}` : '—',
      ),
    ],
  ];
  const targets = markdownTable(['target', 'verdict', 'figure'], targetRows);
  const cpu = cpuTable([
    { label: 'Herald instant', run: instant },
    { label: `Herald ${settings.slowLatencyMs} ms`, run: slow },
    { label: 'kafkajs loop', run: kafkajs },
    { label: 'BullMQ', run: bullmq },
  ]);

  const mode = infraMode();
  const settingsLine =
    `${results.partitions ?? '?'} partitions on herald.messages.requested; one instance of each ` +
    `service; HERALD_MAX_IN_FLIGHT=${MAX_IN_FLIGHT}, HERALD_PARTITION_CONCURRENCY=${PARTITION_CONCURRENCY}; ` +
    `warm-up ${settings.warmUp} messages after a 1-message probe (only the probe before the half-load and retry runs; the half-load summaries include it); ` +
    `half load for ${settings.halfLoadSeconds} s; retries with Retry-After 1–${settings.retryMaxSeconds} s`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const entry = [
    `## ${date} — ${settings.quick ? 'quick run' : 'full run'} ${runId}`,
    '',
    `- Machine: ${machineLine()}`,
    `- Versions: ${versionsLine(mode)}`,
    `- Commit: ${commitLine()}`,
    `- Settings: ${settingsLine}`,
    '',
    table,
    '',
    targets,
    ...(cpu ? ['', cpu] : []),
    ...(notes.length > 0 ? ['', 'Notes:', '', ...notes.map((note) => `- ${note}`)] : []),
    ...(failures.length > 0
      ? ['', 'Failures:', '', ...failures.map((f) => `- ${f.split('\n')[0]}`)]
      : []),
    '',
  ].join('\n');
  return { table, targets: cpu ? `${targets}\n\n${cpu}` : targets, entry };
}

/**
 * CPU per message of every process in each throughput run's window, and what that allows: on a
 * machine whose cores are all busy, cores ÷ CPU per message is the most any arrangement of the
 * same work could reach.
 */
function cpuTable(
  columns: ReadonlyArray<{ label: string; run: Throughput | undefined }>,
): string | undefined {
  const measured = columns.filter(
    (c): c is { label: string; run: Throughput & { cpu: CpuUsage } } =>
      c.run?.cpu !== undefined && c.run.messages > 0,
  );
  if (measured.length === 0) return undefined;
  const perMessage = (c: (typeof measured)[number], ms: number) =>
    `${(ms / c.run.messages).toFixed(3)} ms`;
  const rows = ROLES.filter((role) => measured.some((c) => c.run.cpu.byRole.has(role))).map(
    (role) => [
      role,
      ...measured.map((c) => {
        const ms = c.run.cpu.byRole.get(role);
        return ms === undefined ? '' : perMessage(c, ms);
      }),
    ],
  );
  rows.push(['**all of these**', ...measured.map((c) => perMessage(c, c.run.cpu.totalMs))]);
  rows.push([
    'machine busy (all cores, any process)',
    ...measured.map((c) => `${(c.run.cpu.machineBusy * 100).toFixed(0)}%`),
  ]);
  rows.push([
    'cores ÷ CPU per message',
    ...measured.map((c) =>
      formatRate((c.run.cpu.cores * 1000 * c.run.messages) / c.run.cpu.totalMs),
    ),
  ]);
  rows.push(['measured', ...measured.map((c) => formatRate(c.run.perSecond))]);
  return markdownTable(['CPU per message', ...measured.map((c) => c.label)], rows);
}

function appendResults(entry: string): void {
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, RESULTS_HEADER);
  appendFileSync(RESULTS_FILE, `\n${entry}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    killAllStarted();
    process.exit(1);
  },
);
