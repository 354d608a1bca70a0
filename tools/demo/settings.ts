// Where the demo runs everything: the ports (each overridable, so the demo can run beside
// another Herald), the run directory, the servers' mode and addresses.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  APP_PORTS,
  infraEnv,
  infraMode,
  REPO_ROOT,
  type AppName,
  type ServerUrls,
} from '@tools/harness';
import { SIMULATOR_PORTS } from '@tools/provider-sim';

/** A failure the demo explains in one line (printed as `demo: …`, exit code 1). */
export class DemoError extends Error {}

/**
 * The simulator first, so the services find their providers answering; then the services; the
 * dashboard last, so its status page finds the others already up.
 */
export const APPS = [
  'provider-sim',
  'ingest',
  'sender',
  'status-checker',
  'projector',
  'webhooks',
  'dashboard',
] as const;

interface PortSetting {
  variable: string;
  default: number;
}

// The servers' ports, as scripts/infra/*.sh read them; docker-compose.yml publishes the defaults.
const SERVER_PORTS = {
  kafka: { variable: 'KAFKA_PORT', default: 9092 },
  kafkaController: { variable: 'KAFKA_CONTROLLER_PORT', default: 9093 },
  schemaRegistry: { variable: 'SCHEMA_REGISTRY_PORT', default: 8081 },
  mongodb: { variable: 'MONGODB_PORT', default: 27017 },
} as const satisfies Record<string, PortSetting>;

export interface Settings {
  /** Servers' data, pids and logs, the services' logs and the simulator's credentials. */
  runDir: string;
  logDir: string;
  credentialsDir: string;
  ports: Record<AppName, number>;
  apnsPort: number;
  smtpPort: number;
  mode: 'docker' | 'local';
  servers: ServerUrls & { ports: Record<keyof typeof SERVER_PORTS, number> };
  timeScale: number;
}

/**
 * The variable's value, or its default written back into this process's environment: like the
 * shell's `export X=${X:-default}`, so everything started from here (scripts/infra.sh, the
 * services, the simulator) sees the same ports.
 */
function exported({ variable, default: fallback }: PortSetting): number {
  const raw = process.env[variable]?.trim() || String(fallback);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new DemoError(`${variable} must be a port number (1-65535), got "${raw}"`);
  }
  process.env[variable] = raw;
  return port;
}

/** The run directory (HERALD_RUN_DIR, default .herald), absolute, exported and with logs/ in it. */
function runDirectory(): string {
  const runDir = resolve(REPO_ROOT, process.env.HERALD_RUN_DIR || '.herald');
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  process.env.HERALD_RUN_DIR = runDir;
  return runDir;
}

/** Docker Compose publishes the default ports only, so any other server port means local servers. */
function serverMode(serverPorts: Record<keyof typeof SERVER_PORTS, number>): 'docker' | 'local' {
  const forced = process.env.HERALD_INFRA_MODE || undefined;
  if (forced !== undefined && forced !== 'docker' && forced !== 'local') {
    throw new DemoError(`HERALD_INFRA_MODE must be docker or local, got "${forced}"`);
  }
  const moved = Object.entries(SERVER_PORTS).some(
    ([name, setting]) => serverPorts[name as keyof typeof SERVER_PORTS] !== setting.default,
  );
  if (moved) {
    if (forced === 'docker') {
      throw new DemoError(
        'HERALD_INFRA_MODE=docker runs the servers on their default ports only; unset ' +
          'KAFKA_PORT, KAFKA_CONTROLLER_PORT, SCHEMA_REGISTRY_PORT and MONGODB_PORT',
      );
    }
    return 'local';
  }
  return infraMode();
}

/**
 * Reads (and exports, for the processes the demo starts) every setting. `forStack`: the demo
 * starts the servers and services itself, so the server addresses always follow the ports and
 * time runs at HERALD_TIME_SCALE=0.005 unless told otherwise; without it (`send`, `events`),
 * addresses already in KAFKA_BROKERS / SCHEMA_REGISTRY_URL / MONGODB_URI are kept.
 */
export function readSettings({ forStack }: { forStack: boolean }): Settings {
  const serverPorts = {
    kafka: exported(SERVER_PORTS.kafka),
    kafkaController: exported(SERVER_PORTS.kafkaController),
    schemaRegistry: exported(SERVER_PORTS.schemaRegistry),
    mongodb: exported(SERVER_PORTS.mongodb),
  };
  const ports = Object.fromEntries(APPS.map((app) => [app, exported(APP_PORTS[app])])) as Record<
    AppName,
    number
  >;
  const apnsPort = exported(SIMULATOR_PORTS.apns);
  const smtpPort = exported(SIMULATOR_PORTS.smtp);
  if (forStack) process.env.HERALD_TIME_SCALE ||= '0.005';
  const rawScale = process.env.HERALD_TIME_SCALE || '1';
  const timeScale = Number(rawScale);
  if (!(timeScale > 0)) {
    throw new DemoError(`HERALD_TIME_SCALE must be a positive number, got "${rawScale}"`);
  }
  const runDir = runDirectory();

  const mode = serverMode(serverPorts);
  process.env.HERALD_INFRA_MODE = mode;
  // Where the services (and the schema registry, which keeps its schemas in Kafka) find them.
  const urls = infraEnv();
  if (!forStack) {
    for (const name of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGODB_URI'] as const) {
      urls[name] = process.env[name] || urls[name];
    }
  }
  Object.assign(process.env, urls);

  return {
    runDir,
    logDir: join(runDir, 'logs'),
    credentialsDir: join(runDir, 'sim-credentials'),
    ports,
    apnsPort,
    smtpPort,
    mode,
    servers: { ...urls, ports: serverPorts },
    timeScale,
  };
}
