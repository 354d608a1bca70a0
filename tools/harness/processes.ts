import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_PORTS } from '@herald/config';
import { builtEntry, type AppName } from './build';
import { SIMULATOR_PORTS } from '../provider-sim/src/ports';
import { REPO_ROOT } from './infra';
import { waitFor } from './wait';

/**
 * The one process harness: the tests, the bench and the demo all start Herald's built apps
 * through it, the way a user does (`node dist/apps/<app>/main.js`), and stop them through it.
 */

/** The variable each app reads its HTTP port from, and the port it listens on without one. */
export const APP_PORTS: Record<AppName, { variable: string; default: number }> = {
  ...SERVICE_PORTS,
  'provider-sim': SIMULATOR_PORTS.http,
};

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

/** A started app: its process, its port, and what it printed. */
export interface RunningService {
  name: AppName;
  port: number;
  process: ChildProcess;
  /** Everything it printed so far (from its log file when it has one). */
  output: () => string;
  /** Where its output goes, when it was started with one. */
  logFile: string | null;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Added to this process's environment (the app's port variable is set from `port`). */
  env?: Record<string, string>;
  /** A free port is chosen when none is given. */
  port?: number;
  /** Appends the app's output to this file instead of keeping it in memory. */
  logFile?: string;
  /** Empties logFile first, so it holds this run only. */
  freshLog?: boolean;
  /** Arguments for node before the entry, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** Every process this module started and has not seen exit, so a Ctrl-C can stop them. */
const live = new Set<ChildProcess>();

export async function startService(
  name: AppName,
  options: StartOptions = {},
): Promise<RunningService> {
  const port = options.port ?? (await freePort());
  const env = { ...process.env, [APP_PORTS[name].variable]: String(port), ...options.env };
  const args = [...(options.nodeArgs ?? []), builtEntry(name)];
  let child: ChildProcess;
  let output: () => string;
  if (options.logFile) {
    if (options.freshLog) writeFileSync(options.logFile, '');
    const fd = openSync(options.logFile, 'a');
    try {
      child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const file = options.logFile;
    output = () => readLog(file);
  } else {
    let printed = '';
    child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => (printed += chunk));
    child.stderr?.on('data', (chunk) => (printed += chunk));
    output = () => printed;
  }
  live.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  return { name, port, process: child, output, logFile: options.logFile ?? null, exited };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The last lines an app printed, for an error message. */
export function outputTail(service: RunningService, lines = 25): string {
  return service.output().split('\n').slice(-lines).join('\n') || '(no output)';
}

export function isRunning(service: RunningService): boolean {
  return service.process.exitCode === null && service.process.signalCode === null;
}

export async function readiness(
  service: RunningService,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${service.port}/health/ready`, {
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: await response.json() };
}

/** The app exited while something waited for it; the message ends with its last output. */
class ExitedError extends Error {
  constructor(service: RunningService) {
    super(`${service.name} exited: ${outputTail(service, 40)}`);
  }
}

/**
 * Waits until /health/ready answers 200. Fails at once, with the app's output, if it exits
 * (waitFor would only retry the probe until its deadline), else at the deadline.
 */
export async function waitUntilReady(service: RunningService, timeoutMs = 90_000): Promise<void> {
  let waiting = true;
  const ready = waitFor(
    `${service.name} to report ready`,
    // Once the exit has decided, the next poll ends the wait instead of probing on.
    async () => (!waiting || (await readiness(service)).status === 200 ? true : undefined),
    { timeoutMs, intervalMs: 250 },
  );
  const exited = service.exited.then(() => {
    if (waiting) throw new ExitedError(service);
  });
  try {
    await Promise.race([ready, exited]);
  } finally {
    waiting = false;
  }
}

/** Whether something accepts connections on 127.0.0.1:port (a taken port, a server that is up). */
export function portOpen(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** SIGTERM, then SIGKILL if it has not exited after the grace period. Resolves with the exit code. */
export async function stopService(
  service: RunningService,
  graceMs = 45_000,
): Promise<number | null> {
  if (isRunning(service)) {
    service.process.kill('SIGTERM');
    // The grace timer is cancelled once the process exits, so it never keeps the caller (a
    // jest worker, the demo) alive for the rest of the grace period.
    const grace = new AbortController();
    const stopped = await Promise.race([
      service.exited.then(() => true),
      sleep(graceMs, false, { signal: grace.signal }).catch(() => true),
    ]);
    grace.abort();
    if (!stopped && isRunning(service)) service.process.kill('SIGKILL');
  }
  return service.exited;
}

/** SIGKILLs every app this process started that is still running (on Ctrl-C, say). */
export function killAllStarted(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Peak resident set size (VmHWM) in bytes; NaN once the process is gone. */
export function peakRss(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
