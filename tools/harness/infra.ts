import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The checkout's root: tools/harness is two levels below it. */
export const REPO_ROOT = join(__dirname, '..', '..');
export const INFRA_SCRIPT = join(REPO_ROOT, 'scripts', 'infra.sh');

export type LocalServer = 'kafka' | 'schema-registry' | 'ferretdb';

export function dockerEngineAnswers(): boolean {
  if (process.env.HERALD_NO_DOCKER === '1') return false;
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
      stdio: 'ignore',
      timeout: 5000,
    });
    return true;
  } catch {
    return false;
  }
}

/** How scripts/infra.sh runs the servers: HERALD_INFRA_MODE if set, else Docker if it answers. */
export function infraMode(env = process.env): 'docker' | 'local' {
  const forced = env.HERALD_INFRA_MODE;
  if (forced === 'docker' || forced === 'local') return forced;
  return dockerEngineAnswers() ? 'docker' : 'local';
}

/** Runs scripts/infra.sh with a subcommand (its output goes to ours) and returns its exit code. */
export function infra(command: 'up' | 'down' | 'status', extraEnv: Record<string, string> = {}) {
  const result = spawnSync('bash', [INFRA_SCRIPT, command], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status ?? 1;
}

/** Runs one local server's script with a subcommand, e.g. to kill the broker. */
export function localServer(server: LocalServer, command: string): number {
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'infra', `${server}.sh`), command], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status ?? 1;
}

/** The local registry's Confluent-compatible base URL, as scripts/infra/schema-registry.sh prints it. */
export function localRegistryUrl(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'scripts', 'infra', 'schema-registry.sh'), 'url'], {
    encoding: 'utf8',
  }).trim();
}

/** Where the servers are, as `scripts/infra.sh env` prints it for the services. */
export interface ServerUrls {
  KAFKA_BROKERS: string;
  SCHEMA_REGISTRY_URL: string;
  MONGODB_URI: string;
}

/** Reads `scripts/infra.sh env` (`export NAME='value'` lines) for the mode in force. */
export function infraEnv(extraEnv: Record<string, string> = {}): ServerUrls {
  const result = spawnSync('bash', [INFRA_SCRIPT, 'env'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...extraEnv },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`scripts/infra.sh env failed: ${result.stderr}`);
  const env: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
  }
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGODB_URI } = env;
  if (!KAFKA_BROKERS || !SCHEMA_REGISTRY_URL || !MONGODB_URI) {
    throw new Error('scripts/infra.sh env printed too little');
  }
  return { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGODB_URI };
}

/** The same MongoDB URI naming another database. */
export function withDatabase(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}
