import { resolve } from 'node:path';
import { DEFAULT_MAX_MESSAGES } from './engine/message-store';
import { simulatorProviderEnv } from './provider-env';
import { MAX_LATENCY_MS } from './engine/scripts';
import { createSimulator, DEFAULT_MAX_RECORDED } from './simulator';
import { SIMULATOR_PORTS } from './ports';

class EnvError extends Error {}

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new EnvError(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`);
  }
  return Number(value);
}

/** 0 is allowed so tests and scripts can ask the OS for a free port. */
function portFromEnv(port: { variable: string; default: number }): number {
  return intFromEnv(port.variable, port.default, 0, 65535);
}

function boolFromEnv(name: string): boolean {
  const raw = (process.env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new EnvError(`${name} must be true or false, got "${process.env[name]}"`);
}

function readConfig(): {
  port: number;
  apnsPort: number;
  smtpPort: number;
  host: string;
  latencyMs: number;
  maxRecorded: number;
  maxMessages: number;
  logRequests: boolean;
} {
  const host = (process.env.PROVIDER_SIM_HOST ?? '').trim() || '127.0.0.1';
  if (/\s/.test(host)) throw new EnvError(`PROVIDER_SIM_HOST must be a host name or address`);
  return {
    port: portFromEnv(SIMULATOR_PORTS.http),
    apnsPort: portFromEnv(SIMULATOR_PORTS.apns),
    smtpPort: portFromEnv(SIMULATOR_PORTS.smtp),
    host,
    latencyMs: intFromEnv('PROVIDER_SIM_LATENCY_MS', 0, 0, MAX_LATENCY_MS),
    maxRecorded: intFromEnv('PROVIDER_SIM_MAX_RECORDED', DEFAULT_MAX_RECORDED, 0, 10_000_000),
    maxMessages: intFromEnv('PROVIDER_SIM_MAX_MESSAGES', DEFAULT_MAX_MESSAGES, 0, 10_000_000),
    logRequests: boolFromEnv('PROVIDER_SIM_LOG_REQUESTS'),
  };
}

type Config = ReturnType<typeof readConfig>;

/** Inside single quotes the shell takes everything literally except `'` itself. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** How a client reaches a listener bound to `host`: a wildcard bind is reached on loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * `env <dir>`: the HERALD_* variables that point every provider at a simulator started with the
 * same PROVIDER_SIM_* variables, as `export` lines for a shell to eval, with throwaway key files
 * written under <dir>. It only prints, so the server can be started afterwards (or elsewhere).
 */
function printProviderEnv(config: Config, dir: string | undefined): void {
  if (!dir) throw new EnvError('usage: main.js env <dir for the throwaway key files>');
  // Port 0 means "any free port", which only the listening server learns.
  for (const [{ variable }, port] of [
    [SIMULATOR_PORTS.http, config.port],
    [SIMULATOR_PORTS.apns, config.apnsPort],
    [SIMULATOR_PORTS.smtp, config.smtpPort],
  ] as const) {
    if (port === 0) throw new EnvError(`env needs a fixed ${variable}, not 0`);
  }
  const host = reachableHost(config.host);
  const { env } = simulatorProviderEnv(
    {
      http: `http://${host}:${config.port}`,
      apns: `http://${host}:${config.apnsPort}`,
      smtp: `smtp://${host}:${config.smtpPort}`,
    },
    // Absolute, so the key-file paths hold wherever the services are started from.
    resolve(dir),
  );
  const lines = Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  let config: Config;
  try {
    if (command !== undefined && command !== 'env') {
      throw new EnvError(`unknown command "${command}"; usage: main.js [env <dir>]`);
    }
    config = readConfig();
    if (command === 'env') {
      printProviderEnv(config, args[0]);
      return;
    }
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`herald-provider-sim: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const simulator = createSimulator({
    latencyMs: config.latencyMs,
    maxRecorded: config.maxRecorded,
    maxMessages: config.maxMessages,
    apnsPort: config.apnsPort,
    smtpPort: config.smtpPort,
    log: config.logRequests ? (line) => process.stdout.write(`${line}\n`) : undefined,
  });
  let addresses: Awaited<ReturnType<typeof simulator.listen>>;
  try {
    addresses = await simulator.listen(config.port, config.host);
  } catch (error) {
    process.stderr.write(`herald-provider-sim: cannot listen: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `herald-provider-sim: listening on ${addresses.url}, APNs (h2c) on ${addresses.apnsUrl ?? '-'}, ` +
      `SMTP on ${addresses.smtpUrl ?? '-'} (latency ${config.latencyMs} ms, ` +
      `recording up to ${config.maxRecorded} requests)\n`,
  );

  let stopping = false;
  const stop = (): void => {
    // A second signal means the operator does not want to wait.
    if (stopping) process.exit(1);
    stopping = true;
    void simulator.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
