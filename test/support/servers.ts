import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Where the integration tests' servers come from, in order of preference:
 *  1. env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGODB_URI are all set — use them;
 *  2. testcontainers: a Docker engine answers — official images, started per run;
 *  3. local: scripts/infra.sh provisions and starts the real servers as local processes.
 */
export type ServerMode = 'env' | 'testcontainers' | 'local';

export const REPO_ROOT = join(__dirname, '..', '..');
export const INFRA = join(REPO_ROOT, 'scripts', 'infra.sh');

export function envServersGiven(env = process.env): boolean {
  return Boolean(env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.MONGODB_URI);
}

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

/** Runs scripts/infra.sh (local mode) and returns its exit code. */
export function infra(command: 'up' | 'down' | 'status', extraEnv: Record<string, string> = {}) {
  const result = spawnSync('bash', [INFRA, command], {
    cwd: REPO_ROOT,
    env: { ...process.env, HERALD_INFRA_MODE: 'local', ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status ?? 1;
}

/** Runs one local server's script with a subcommand, e.g. to kill the broker. */
export function localServer(
  server: 'kafka' | 'schema-registry' | 'ferretdb',
  command: string,
): number {
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'infra', `${server}.sh`), command], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status ?? 1;
}

export function serverMode(): ServerMode {
  const mode = process.env.HERALD_TEST_SERVERS;
  if (mode === 'env' || mode === 'testcontainers' || mode === 'local') return mode;
  throw new Error('HERALD_TEST_SERVERS is not set: run the integration tests through jest');
}

export function testEnv() {
  return {
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? '',
    mongodbUri: process.env.MONGODB_URI ?? '',
  };
}

/** The local registry's Confluent-compatible base URL, as scripts/infra/schema-registry.sh prints it. */
export function localRegistryUrl(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'scripts', 'infra', 'schema-registry.sh'), 'url'], {
    encoding: 'utf8',
  }).trim();
}
