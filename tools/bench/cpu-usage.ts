/**
 * CPU time each process spent during a measured window, read from /proc (Linux): the profile
 * that says where a throughput run's cycles went, so a missed target can name its bound. On a
 * machine whose cores are all busy, throughput is cores ÷ CPU per message, whoever spends it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Who a process is, from its command line; null for processes the bench does not account. */
export function roleOf(commandLine: string): string | null {
  const app = /dist\/apps\/([a-z-]+)\/main\.js/.exec(commandLine)?.[1];
  if (app) return app;
  if (/\bkafka\.Kafka\b/.test(commandLine)) return 'kafka';
  if (/ferretdb/i.test(commandLine)) return 'ferretdb';
  if (/herald.service=schema-registry|apicurio|quarkus-run/i.test(commandLine)) return 'registry';
  if (/redis-server/.test(commandLine)) return 'redis';
  return null;
}

/** The roles in the order tables show them; the bench process itself (load, baselines) is 'bench'. */
export const ROLES = [
  'ingest',
  'sender',
  'status-checker',
  'projector',
  'webhooks',
  'kafka',
  'registry',
  'ferretdb',
  'redis',
  'provider-sim',
  'bench',
] as const;

const TICKS_PER_SECOND = (() => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(answer.stdout?.trim()) || 100;
})();

interface Reading {
  /** CPU ms per pid. */
  pids: Map<number, number>;
  /** The machine's busy and total CPU ms over all cores, from /proc/stat. */
  busyMs: number;
  totalMs: number;
  cores: number;
}

export interface CpuUsage {
  /** CPU ms each role spent in the window (roles with no process left out). */
  byRole: Map<string, number>;
  totalMs: number;
  /** Share of all the machine's cores busy in the window (any process, ours or not). */
  machineBusy: number;
  cores: number;
}

function processCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined; // exited
  }
}

function machineCpuMs(): { busyMs: number; totalMs: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const times = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = times.reduce((sum, t) => sum + t, 0);
  const idle = (times[3] ?? 0) + (times[4] ?? 0); // idle + iowait
  const cores = lines.filter((line) => /^cpu\d+ /.test(line)).length;
  const toMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  return { busyMs: toMs(total - idle), totalMs: toMs(total), cores };
}

/** Every other process on the machine the bench accounts, by pid, with its role (from /proc). */
export function processRoles(): Map<number, string> {
  const roles = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const role = roleOf(commandLine);
      if (role) roles.set(pid, role);
    } catch {
      // gone meanwhile
    }
  }
  return roles;
}

/**
 * One measured window: `begin()` finds the processes and reads their CPU time, `end()` reads it
 * again. Only /proc reads, so it costs the run a few milliseconds at each end.
 */
export class CpuWindow {
  private roles = new Map<number, string>();
  private start: Reading | undefined;

  /** Without /proc (not Linux) the window stays empty and `end()` gives undefined. */
  begin(): void {
    try {
      this.beginNow();
    } catch {
      this.start = undefined;
    }
  }

  private beginNow(): void {
    this.roles = new Map([[process.pid, 'bench'], ...processRoles()]);
    this.start = this.read();
  }

  end(): CpuUsage | undefined {
    if (!this.start) return undefined;
    const finish = this.read();
    const byRole = new Map<string, number>();
    for (const [pid, role] of this.roles) {
      const before = this.start.pids.get(pid);
      const after = finish.pids.get(pid);
      if (before === undefined || after === undefined) continue;
      byRole.set(role, (byRole.get(role) ?? 0) + (after - before));
    }
    const totalMs = finish.totalMs - this.start.totalMs;
    return {
      byRole,
      totalMs: [...byRole.values()].reduce((sum, ms) => sum + ms, 0),
      machineBusy: totalMs > 0 ? (finish.busyMs - this.start.busyMs) / totalMs : NaN,
      cores: finish.cores,
    };
  }

  private read(): Reading {
    const pids = new Map<number, number>();
    for (const pid of this.roles.keys()) {
      const ms = processCpuMs(pid);
      if (ms !== undefined) pids.set(pid, ms);
    }
    return { pids, ...machineCpuMs() };
  }
}
