import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SERVICE_PORTS, type ServiceName } from '@herald/config';
import { REPO_ROOT } from './servers';
import { waitFor } from './wait';

/** A Herald app started the way a user starts it: node dist/apps/<app>/main.js. */
export interface RunningService {
  name: ServiceName;
  port: number;
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function builtEntry(name: ServiceName): string {
  const entry = join(REPO_ROOT, 'dist', 'apps', name, 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startService(
  name: ServiceName,
  env: Record<string, string> = {},
): Promise<RunningService> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [builtEntry(name)], {
    cwd: REPO_ROOT,
    env: { ...process.env, [SERVICE_PORTS[name].variable]: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { name, port, process: child, output: () => output, exited };
}

export async function readiness(
  service: RunningService,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${service.port}/health/ready`, {
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: await response.json() };
}

export function waitUntilReady(service: RunningService, timeoutMs = 90_000) {
  return waitFor(
    `${service.name} to report ready`,
    async () => {
      if (service.process.exitCode !== null) {
        throw new Error(`${service.name} exited: ${service.output().slice(-2000)}`);
      }
      return (await readiness(service)).status === 200 ? true : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export async function stopService(service: RunningService): Promise<number | null> {
  if (service.process.exitCode === null) service.process.kill('SIGTERM');
  return service.exited;
}
