import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The checkout's root: tools/harness is two levels below it. */
export const REPO_ROOT = join(__dirname, '..', '..');
export const INFRA_SCRIPT = join(REPO_ROOT, 'scripts', 'infra.sh');

/** The servers with a script in scripts/infra/ (Redis only for the bench's BullMQ baseline). */
export type LocalServer = 'kafka' | 'schema-registry' | 'ferretdb' | 'redis';

/**
 * Where a script's output goes: ours ('inherit'), our stderr (for a caller whose stdout carries
 * results, like the bench), or nowhere ('quiet', for a status probe).
 */
export type ScriptOutput = 'inherit' | 'stderr' | 'quiet';

function stdioFor(
  output: ScriptOutput,
): ['ignore', 'inherit' | 'ignore' | 2, 'inherit' | 'ignore'] {
  if (output === 'quiet') return ['ignore', 'ignore', 'ignore'];
  return ['ignore', output === 'stderr' ? 2 : 'inherit', 'inherit'];
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

/** How scripts/infra.sh runs the servers: HERALD_INFRA_MODE if set, else Docker if it answers. */
export function infraMode(env = process.env): 'docker' | 'local' {
  const forced = env.HERALD_INFRA_MODE;
  if (forced === 'docker' || forced === 'local') return forced;
  return dockerEngineAnswers() ? 'docker' : 'local';
}

/** Runs scripts/infra.sh with a subcommand and returns its exit code. */
export function infra(
  command: 'up' | 'down' | 'status',
  extraEnv: Record<string, string> = {},
  output: ScriptOutput = 'inherit',
): number {
  return runScript(INFRA_SCRIPT, command, output, extraEnv);
}

function localScript(server: LocalServer): string {
  return join(REPO_ROOT, 'scripts', 'infra', `${server}.sh`);
}

/** Runs one local server's script with a subcommand (start, stop, kill, status…). */
export function localServer(
  server: LocalServer,
  command: string,
  output: ScriptOutput = 'inherit',
  extraEnv: Record<string, string> = {},
): number {
  return runScript(localScript(server), command, output, extraEnv);
}

/** Runs a script with a subcommand from the checkout's root; its exit code (1: it did not run). */
function runScript(
  script: string,
  command: string,
  output: ScriptOutput,
  extraEnv: Record<string, string>,
): number {
  const result = spawnSync('bash', [script, command], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: stdioFor(output),
  });
  return result.status ?? 1;
}

/** What a local server's script prints for a query subcommand, e.g. `url`. */
export function localServerSays(server: LocalServer, command: string): string {
  return execFileSync('bash', [localScript(server), command], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  }).trim();
}

/** The local registry's Confluent-compatible base URL, as scripts/infra/schema-registry.sh prints it. */
export function localRegistryUrl(): string {
  return localServerSays('schema-registry', 'url');
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
