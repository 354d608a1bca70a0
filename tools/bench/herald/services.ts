/**
 * Herald's processes as the bench runs them, through the one process harness: the four
 * services (node dist/apps/<app>/main.js, one instance each), the webhooks service for the
 * scenario that measures it, and the provider simulator.
 */

import { basename, dirname, join } from 'node:path';
import type { ServiceName } from '@herald/config';
import {
  apiKeysEnv,
  freePort,
  newTenantKey,
  isRunning,
  outputTail,
  peakRss,
  startService,
  stopService,
  waitUntilReady,
  type RunningService,
} from '@tools/harness';
import type { Servers } from '../servers';
import { APPLIED, parsePrometheus, PROJECTION_LAG, REQUEST_TO_SENT, type Metrics } from './metrics';

/** Started together, one instance each. */
export const SERVICES: readonly ServiceName[] = ['ingest', 'sender', 'status-checker', 'projector'];
/** Started besides SERVICES only where a scenario asks for it. */
export const WEBHOOKS_SERVICE: ServiceName = 'webhooks';
/** Every app the bench runs: the services, the webhooks service and the provider simulator. */
export const APPS = [...SERVICES, WEBHOOKS_SERVICE, 'provider-sim'] as const;

/**
 * The bench tenant's secret key, given to every service through HERALD_API_KEYS (the bench's
 * requests go through Kafka; the apikey scenario's POSTs send it).
 */
export const BENCH_KEY = newTenantKey('bench');

/** Per process, as HERALD_MAX_IN_FLIGHT; the baselines get the same concurrency. */
export const MAX_IN_FLIGHT = 512;
/** Partitions a consumer works on at once, as HERALD_PARTITION_CONCURRENCY. */
export const PARTITION_CONCURRENCY = 12;

/**
 * BENCH_CPU_PROFILE=1: each process writes a V8 CPU profile (open it in Chrome DevTools or
 * speedscope) beside its log when it stops. BENCH_NODE_ARGS: more node flags for every process
 * (e.g. --trace-gc, which NODE_OPTIONS does not take), its output in the process's log.
 */
function benchNodeArgs(logFile: string): string[] {
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const profile =
    process.env.BENCH_CPU_PROFILE === '1'
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${dirname(logFile)}`,
          `--cpu-prof-name=${basename(logFile, '.log')}.cpuprofile`,
        ]
      : [];
  return [...profile, ...extra];
}

/** Stops a process and resolves with its peak RSS, read just before the stop. */
export async function stopBenchProcess(service: RunningService): Promise<number> {
  const rss = peakRss(service.process.pid);
  await stopService(service);
  return rss;
}

// ---------------------------------------------------------------------------------------------
// The provider simulator

export interface SimulatorProcess extends RunningService {
  url: string;
}

/**
 * Recording costs the simulator memory and time per request, so only the retry-precision run,
 * which reads the recordings, turns it on.
 */
export async function startSimulator(options: {
  logDir: string;
  label: string;
  recording: boolean;
}): Promise<SimulatorProcess> {
  const env = {
    PROVIDER_SIM_HOST: '127.0.0.1',
    PROVIDER_SIM_APNS_PORT: String(await freePort()),
    PROVIDER_SIM_SMTP_PORT: String(await freePort()),
    PROVIDER_SIM_MAX_RECORDED: options.recording ? '100000' : '0',
    PROVIDER_SIM_LATENCY_MS: '0',
  };
  const logFile = join(options.logDir, `provider-sim-${options.label}.log`);
  const sim = await startService('provider-sim', {
    env,
    logFile,
    nodeArgs: benchNodeArgs(logFile),
  });
  try {
    await waitUntilReady(sim, 30_000);
  } catch (error) {
    await stopService(sim);
    throw error;
  }
  return { ...sim, url: `http://127.0.0.1:${sim.port}` };
}

// ---------------------------------------------------------------------------------------------
// The services

export class HeraldServices {
  private constructor(
    readonly scenario: string,
    readonly processes: ReadonlyMap<ServiceName, RunningService>,
  ) {}

  /**
   * Starts one instance of each service (and of each `extra` one) and waits until every one
   * answers /health/ready.
   */
  static async start(options: {
    servers: Servers;
    runId: string;
    scenario: string;
    logDir: string;
    env?: Record<string, string>;
    extra?: readonly ServiceName[];
  }): Promise<HeraldServices> {
    const processes = new Map<ServiceName, RunningService>();
    for (const name of [...SERVICES, ...(options.extra ?? [])]) {
      const env: Record<string, string> = {
        KAFKA_BROKERS: options.servers.brokers.join(','),
        SCHEMA_REGISTRY_URL: options.servers.registryUrl,
        MONGODB_URI: options.servers.mongoUri,
        HERALD_HTTP_HOST: '127.0.0.1',
        // Stable per service across the run's scenarios: a restarted instance fences its
        // predecessor's transactions at once.
        HERALD_INSTANCE_ID: `bench-${options.runId}-${name}`,
        HERALD_TIME_SCALE: '1',
        // The simulator the webhooks go to listens on loopback.
        HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
        HERALD_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        HERALD_PARTITION_CONCURRENCY: String(PARTITION_CONCURRENCY),
        ...apiKeysEnv([BENCH_KEY]),
        ...options.env,
      };
      const logFile = join(options.logDir, `${name}-${options.scenario}.log`);
      processes.set(
        name,
        await startService(name, { env, logFile, nodeArgs: benchNodeArgs(logFile) }),
      );
    }
    const services = new HeraldServices(options.scenario, processes);
    try {
      await Promise.all([...processes.values()].map((process) => waitUntilReady(process)));
    } catch (error) {
      await services.stop();
      throw error;
    }
    return services;
  }

  port(name: ServiceName): number {
    const process = this.processes.get(name);
    if (!process) throw new Error(`${name} is not running`);
    return process.port;
  }

  /** Throws naming the service (with its log) if any has exited. */
  assertRunning(): void {
    for (const process of this.processes.values()) {
      if (!isRunning(process)) {
        throw new Error(
          `${process.name} exited during ${this.scenario}; last lines of ${process.logFile}:\n` +
            outputTail(process),
        );
      }
    }
  }

  async metricsText(name: ServiceName = 'projector'): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port(name)}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${name} /metrics answered ${response.status}`);
    return text;
  }

  async metrics(name: ServiceName = 'projector'): Promise<Metrics> {
    return parsePrometheus(await this.metricsText(name));
  }

  /** Fails early, with a clear message, when the projector predates its metrics. */
  async assertProjectorMetrics(): Promise<void> {
    const text = await this.metricsText('projector');
    for (const name of [APPLIED, PROJECTION_LAG, REQUEST_TO_SENT]) {
      if (!text.includes(`# TYPE ${name} `)) {
        throw new Error(
          `the projector's /metrics has no ${name}: dist/apps/projector is older than its metrics ` +
            '(run `npm run build`)',
        );
      }
    }
  }

  /**
   * What the services' logs say went wrong during the scenario, counted: failed batches (which
   * kafkajs retries with back-off), MongoDB lock conflicts, concurrent-transaction retries.
   */
  logFindings(): string | undefined {
    const patterns: Array<[string, RegExp]> = [
      ['failed batches', /Error when calling each(Batch|Message)/g],
      ['SQLITE_BUSY', /SQLITE_BUSY/g],
      ['concurrent-transaction retries', /concurrent operation on the same transaction/g],
      ['crashes', /Crash: /g],
    ];
    const found: string[] = [];
    for (const [name, process] of this.processes) {
      const text = process.output();
      const counts = patterns
        .map(([label, re]) => [label, text.match(re)?.length ?? 0] as const)
        .filter(([, count]) => count > 0)
        .map(([label, count]) => `${count} ${label}`);
      if (counts.length > 0) found.push(`${name}: ${counts.join(', ')}`);
    }
    return found.length > 0 ? found.join('; ') : undefined;
  }

  /** Peak RSS of each service (read before stopping it), in bytes. */
  async stop(): Promise<Map<ServiceName, number>> {
    const entries = await Promise.all(
      [...this.processes].map(
        async ([name, process]) => [name, await stopBenchProcess(process)] as const,
      ),
    );
    return new Map(entries);
  }
}
