import { DEFAULT_MAX_MESSAGES } from './message-store';
import { MAX_LATENCY_MS } from './scripts';
import { createSimulator, DEFAULT_MAX_RECORDED } from './simulator';

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
    // 0 is allowed so tests and scripts can ask the OS for a free port.
    port: intFromEnv('PROVIDER_SIM_PORT', 4010, 0, 65535),
    apnsPort: intFromEnv('PROVIDER_SIM_APNS_PORT', 4011, 0, 65535),
    smtpPort: intFromEnv('PROVIDER_SIM_SMTP_PORT', 2525, 0, 65535),
    host,
    latencyMs: intFromEnv('PROVIDER_SIM_LATENCY_MS', 0, 0, MAX_LATENCY_MS),
    maxRecorded: intFromEnv('PROVIDER_SIM_MAX_RECORDED', DEFAULT_MAX_RECORDED, 0, 10_000_000),
    maxMessages: intFromEnv('PROVIDER_SIM_MAX_MESSAGES', DEFAULT_MAX_MESSAGES, 0, 10_000_000),
    logRequests: boolFromEnv('PROVIDER_SIM_LOG_REQUESTS'),
  };
}

async function main(): Promise<void> {
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig();
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
