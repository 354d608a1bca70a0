// Starting and stopping everything the demo runs on: the servers (only those not already
// running are stopped again), the apps' builds, the provider simulator, the services and the
// dashboard.
// Processes are started, awaited and stopped through the one harness, tools/harness.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import {
  APP_PORTS,
  buildApp,
  entryOf,
  infra,
  INFRA_SCRIPT,
  isRunning,
  localServer,
  outputTail,
  portOpen,
  readiness,
  REPO_ROOT,
  staleSource,
  startService,
  stopService,
  waitUntilReady,
  type LocalServer,
  type RunningService,
} from '@tools/harness';
import { SIMULATOR_PORTS, simulatorProviderEnv } from '@tools/provider-sim';
import { heading, say } from './output';
import { APPS, DemoError, type Settings } from './settings';

/** Ends the demo with this exit code, after what went wrong was printed. */
export class DemoExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** In start order; they stop the other way round (the registry keeps its schemas in Kafka). */
const LOCAL_SERVERS: readonly LocalServer[] = ['kafka', 'ferretdb', 'schema-registry'];

const READY_TIMEOUT_MS = 90_000;
/** How long the services get to finish their work and leave their groups before SIGKILL. */
const STOP_GRACE_MS = 15_000;

/** The demo's own processes need free ports; say which variable moves one. */
export async function requireFreePorts({ ports, apnsPort, smtpPort }: Settings): Promise<void> {
  // Each app's port, the simulator's APNs and SMTP listeners right after its HTTP one.
  const listeners = APPS.flatMap((app) => {
    const own = { what: app, variable: APP_PORTS[app].variable, port: ports[app] };
    if (app !== 'provider-sim') return [own];
    const { apns, smtp } = SIMULATOR_PORTS;
    return [
      own,
      { what: "provider-sim's APNs listener", variable: apns.variable, port: apnsPort },
      { what: "provider-sim's SMTP listener", variable: smtp.variable, port: smtpPort },
    ];
  });
  for (const { what, variable, port } of listeners) {
    if (await portOpen(port)) {
      throw new DemoError(
        `port ${port} (${variable}, for ${what}) is already in use, maybe by another Herald; ` +
          `choose another with ${variable}=...`,
      );
    }
  }
}

export class Stack {
  private readonly services: RunningService[] = [];
  /** Local servers that were running before the demo (Docker: whether the project was up). */
  private readonly wasUp = new Set<LocalServer | 'docker'>();
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** scripts/infra.sh up while it runs, so a signal can end it before stopping the servers. */
  private infraUp: { child: ChildProcess; done: Promise<number> } | null = null;

  constructor(private readonly settings: Settings) {}

  /** Notes which servers already run, so that exactly the others are stopped at the end. */
  noteRunningServers(): void {
    if (this.settings.mode === 'local') {
      for (const server of LOCAL_SERVERS) {
        if (localServer(server, 'status', 'quiet') === 0) {
          this.wasUp.add(server);
        }
      }
    } else if (infra('status', {}, 'quiet') === 0) {
      this.wasUp.add('docker');
    }
  }

  async up(): Promise<void> {
    await this.startServers();
    this.build();
    await this.startApps();
    await this.printReady();
  }

  private async startServers(): Promise<void> {
    const { servers, runDir } = this.settings;
    heading(
      'Starting Kafka, the schema registry and MongoDB (first run downloads and builds them)',
    );
    this.infraUp = infraUp();
    const code = await this.infraUp.done;
    this.infraUp = null;
    if (code !== 0 || this.stopped) throw new DemoExit(code || 1);
    for (const [what, port] of [
      ['Kafka', servers.ports.kafka],
      ['schema registry', servers.ports.schemaRegistry],
      ['MongoDB', servers.ports.mongodb],
    ] as const) {
      if (!(await portOpen(port))) {
        throw new DemoError(
          `${what} does not answer on 127.0.0.1:${port}; servers already running from ${runDir} ` +
            'may use other ports (give the demo its own HERALD_RUN_DIR when you change server ports)',
        );
      }
    }
  }

  /**
   * Builds an app only when its bundle is missing or older than a source it is built from
   * (HERALD_DEMO_BUILD=1: always, =0: never, e.g. while something else is writing dist/).
   */
  private build(): void {
    const mode = process.env.HERALD_DEMO_BUILD;
    const toBuild = APPS.filter((app) => {
      if (mode === '1') return true;
      if (mode === '0') {
        const entry = entryOf(app);
        if (!existsSync(entry)) {
          throw new DemoError(
            `${relative(REPO_ROOT, entry)} is missing and HERALD_DEMO_BUILD=0 forbids building it`,
          );
        }
        return false;
      }
      return staleSource(app) !== undefined;
    });
    if (toBuild.length === 0) {
      heading('Using the services already built in dist/ (HERALD_DEMO_BUILD=1 rebuilds them)');
      return;
    }
    const log = join(this.settings.logDir, 'build.log');
    heading(`Building ${toBuild.join(' ')} (log: ${log})`);
    writeFileSync(log, '');
    for (const app of toBuild) {
      const startedAt = new Date();
      if (!buildApp(app, log)) {
        say(readFileSync(log, 'utf8').trimEnd().split('\n').slice(-40).join('\n'));
        throw new DemoExit(1);
      }
      markBuilt(app, startedAt);
    }
  }

  private async startApps(): Promise<void> {
    const { logDir, credentialsDir, ports, apnsPort, smtpPort } = this.settings;
    // Every provider pointed at the simulator, configured as a user would (HERALD_* variables
    // and key files), with fresh credentials each run.
    const { env } = simulatorProviderEnv(
      {
        http: `http://127.0.0.1:${ports['provider-sim']}`,
        apns: `http://127.0.0.1:${apnsPort}`,
        smtp: `smtp://127.0.0.1:${smtpPort}`,
      },
      credentialsDir,
    );
    heading(`Starting the provider simulator and the services (logs in ${logDir}/<service>.log)`);
    for (const app of APPS) {
      // A signal stopped the demo meanwhile: start nothing that would outlive it.
      if (this.stopped) throw new DemoExit(1);
      const logFile = join(logDir, `${app}.log`);
      this.services.push(
        await startService(app, { env, port: ports[app], logFile, freshLog: true }),
      );
    }
    for (const service of this.services) {
      const ready = await waitUntilReady(service, READY_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      if (!ready) {
        if (this.stopped) throw new DemoExit(1);
        console.error(
          isRunning(service)
            ? `${service.name} did not become ready within ${READY_TIMEOUT_MS / 1000} s`
            : `${service.name} exited`,
        );
        console.error(`last lines of ${service.logFile}:`);
        console.error(outputTail(service, 30).trimEnd());
        throw new DemoExit(1);
      }
    }
  }

  private async printReady(): Promise<void> {
    const { servers, credentialsDir, apnsPort, smtpPort } = this.settings;
    heading('Herald is up');
    const row = (app: string, port: string, ready: string, checks: string) =>
      say(`  ${app.padEnd(16)} ${port.padEnd(6)} ${ready.padEnd(26)} ${checks}`);
    row('SERVICE', 'PORT', 'READY', 'CHECKS');
    for (const service of this.services) {
      const { body } = await readiness(service);
      const { status, checks } = body as {
        status: string;
        checks?: Record<string, { status: string }>;
      };
      row(
        service.name,
        String(service.port),
        `${status} (GET /health/ready)`,
        checks
          ? Object.entries(checks)
              .map(([name, check]) => `${name}=${check.status}`)
              .join(' ')
          : `(stands in for the providers; APNs on ${apnsPort}, SMTP on ${smtpPort})`,
      );
    }
    say(
      `  Kafka ${servers.KAFKA_BROKERS}, schema registry ${servers.SCHEMA_REGISTRY_URL}, ` +
        `MongoDB ${servers.MONGODB_URI}`,
    );
    say(`  Providers: all pointed at the simulator, throwaway credentials in ${credentialsDir}`);
  }

  /**
   * Stops the services, the simulator and the servers this demo started. Runs once: a second
   * call (the signal handler's and the demo's own) waits for the same stop.
   */
  down(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.stopped = true;
    if (this.infraUp) {
      // Ended first (bash finishes the server it is starting, then exits), so it starts no
      // server after the stop below; each one it did start has a pid file the stop finds.
      this.infraUp.child.kill('SIGTERM');
      await this.infraUp.done;
    }
    if (this.services.length > 0) {
      heading('Stopping the services and the simulator');
      await Promise.all(this.services.map((service) => stopService(service, STOP_GRACE_MS)));
    }
    if (this.settings.mode === 'local') {
      const started = [...LOCAL_SERVERS].reverse().filter((server) => !this.wasUp.has(server));
      if (started.length > 0) {
        heading(`Stopping the servers this demo started (${started.join(' ')})`);
        for (const server of started) localServer(server, 'stop');
      }
    } else if (!this.wasUp.has('docker')) {
      heading('Stopping the servers this demo started');
      infra('down');
    }
  }
}

/**
 * Dates the bundle to the build's start. webpack leaves a bundle whose content did not change
 * unwritten (output.compareBeforeEmit), so after a change that does not reach it (a view, the
 * stylesheet, a comment) the old date would call it stale, and it would be rebuilt every run.
 * The start, not the end: a source saved during the build is still newer, so built next time.
 */
function markBuilt(app: (typeof APPS)[number], startedAt: Date): void {
  const entry = entryOf(app);
  if (existsSync(entry) && statSync(entry).mtimeMs < startedAt.getTime()) {
    utimesSync(entry, startedAt, startedAt);
  }
}

/**
 * scripts/infra.sh up, its output passed on but for its closing "Point Herald at them" lines:
 * the demo points Herald at them itself.
 */
function infraUp(): { child: ChildProcess; done: Promise<number> } {
  const child = spawn('bash', [INFRA_SCRIPT, 'up'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!line.startsWith('  export ')) say(line.replace(/ Point Herald at them with:$/, ''));
  });
  const done = new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    // 'close' comes after the last line of output has been read.
    child.once('close', (code) => resolve(code ?? 1));
  });
  return { child, done };
}
