/**
 * The servers' own counts of the requests they have handled, by kind, so a run can say what
 * each message cost them: the broker's (kafka/KafkaRequestCounts.java reads its
 * RequestMetrics over a local JMX attach: produce, fetch, transaction calls, offset commits,
 * group upkeep) and the MongoDB-protocol server's (serverStatus's metrics.commands, which
 * MongoDB and FerretDB both keep: inserts, updates, finds, ...).
 */

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { REPO_ROOT } from '@tools/harness';
import { processRoles } from './cpu-usage';

const READER = join(REPO_ROOT, 'tools', 'bench', 'kafka', 'KafkaRequestCounts.java');

/** Requests by kind, as the broker counts them (e.g. Produce, Fetch, EndTxn). */
export type RequestCounts = Map<string, number>;

/**
 * Kinds that are the broker's own upkeep or a breakdown of another kind: left out of the
 * per-message figures. FetchConsumer and FetchFollower are Fetch split by who asked; the rest
 * are the KRaft controller talking to itself.
 */
const NOT_COUNTED = new Set([
  'FetchConsumer',
  'FetchFollower',
  'BrokerHeartbeat',
  'BrokerRegistration',
  'ControllerRegistration',
  'AllocateProducerIds',
  'Vote',
  'BeginQuorumEpoch',
  'EndQuorumEpoch',
  'DescribeQuorum',
]);

/** The groups a message's requests are reported in, in this order; what is left is "other". */
export const REQUEST_GROUPS: ReadonlyArray<{ label: string; kinds: readonly string[] }> = [
  { label: 'produce', kinds: ['Produce'] },
  { label: 'fetch', kinds: ['Fetch'] },
  {
    label: 'transaction calls',
    kinds: ['InitProducerId', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'EndTxn'],
  },
  { label: 'offset commits', kinds: ['TxnOffsetCommit', 'OffsetCommit'] },
  {
    label: 'broker-side transaction work',
    kinds: ['WriteTxnMarkers', 'AddPartitionsToTxnVerification'],
  },
  {
    label: 'group upkeep',
    kinds: ['Heartbeat', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'OffsetFetch', 'LeaveGroup'],
  },
];

/** The broker's process on this machine, as the CPU table finds it. */
function brokerPid(): number | undefined {
  for (const [pid, role] of processRoles()) if (role === 'kafka') return pid;
  return undefined;
}

/** Undefined when there is no local broker or its JVM cannot be attached to (then not shown). */
export async function brokerRequestCounts(): Promise<RequestCounts | undefined> {
  const pid = brokerPid();
  if (pid === undefined) return undefined;
  try {
    const { stdout } = await promisify(execFile)('java', [READER, String(pid)], {
      timeout: 30_000,
      encoding: 'utf8',
    });
    const counts: RequestCounts = new Map();
    for (const line of stdout.split('\n')) {
      const [kind, count] = line.trim().split(' ');
      if (kind && count !== undefined && Number.isFinite(Number(count))) {
        counts.set(kind, Number(count));
      }
    }
    return counts.size > 0 ? counts : undefined;
  } catch {
    return undefined;
  }
}

/** Commands that are the driver's and the bench's upkeep, not Herald's work. */
const MONGO_NOT_COUNTED = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'serverStatus',
  'buildInfo',
  'endSessions',
]);

/** Undefined when the server does not answer serverStatus with command counts. */
export async function mongoCommandCounts(uri: string): Promise<RequestCounts | undefined> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const status = await client.db('admin').command({ serverStatus: 1 });
    const commands = (status.metrics as { commands?: Record<string, unknown> } | undefined)
      ?.commands;
    if (!commands) return undefined;
    const counts: RequestCounts = new Map();
    for (const [name, value] of Object.entries(commands)) {
      const total = (value as { total?: unknown } | null)?.total;
      const count = typeof total === 'number' ? total : Number(total);
      if (Number.isFinite(count)) counts.set(name, count);
    }
    return counts;
  } catch {
    return undefined;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Both servers' counts at one moment (either undefined when it could not be read). */
export interface ServerRequests {
  kafka?: RequestCounts;
  mongodb?: RequestCounts;
}

export async function readServerRequests(mongoUri: string): Promise<ServerRequests> {
  const [kafka, mongodb] = await Promise.all([brokerRequestCounts(), mongoCommandCounts(mongoUri)]);
  return { ...(kafka ? { kafka } : {}), ...(mongodb ? { mongodb } : {}) };
}

/** What each server handled between two readings, upkeep left out. */
export function serverRequestsBetween(
  before: ServerRequests,
  after: ServerRequests,
): ServerRequests {
  return {
    ...(before.kafka && after.kafka
      ? { kafka: requestsBetween(before.kafka, after.kafka, NOT_COUNTED) }
      : {}),
    ...(before.mongodb && after.mongodb
      ? { mongodb: requestsBetween(before.mongodb, after.mongodb, MONGO_NOT_COUNTED) }
      : {}),
  };
}

/** What happened between two readings, `ignored` kinds left out. */
export function requestsBetween(
  before: RequestCounts,
  after: RequestCounts,
  ignored: ReadonlySet<string> = NOT_COUNTED,
): RequestCounts {
  const delta: RequestCounts = new Map();
  for (const [kind, count] of after) {
    if (ignored.has(kind)) continue;
    const made = count - (before.get(kind) ?? 0);
    if (made > 0) delta.set(kind, made);
  }
  return delta;
}

/** How the MongoDB commands of a message are reported. */
export const MONGO_GROUPS: ReadonlyArray<{ label: string; kinds: readonly string[] }> = [
  { label: 'insert', kinds: ['insert'] },
  { label: 'update', kinds: ['update'] },
  { label: 'find', kinds: ['find', 'getMore'] },
  { label: 'findAndModify', kinds: ['findAndModify'] },
  { label: 'delete', kinds: ['delete'] },
  { label: 'aggregate', kinds: ['aggregate', 'count'] },
];

/**
 * Requests per 1,000 messages (Herald batches, so per message they are small fractions), by
 * group, and in all: e.g. "80 in all: produce 12, fetch 9, …". Anything outside `groups` is
 * "other".
 */
export function requestsPerThousand(
  requests: RequestCounts,
  messages: number,
  groups: ReadonlyArray<{ label: string; kinds: readonly string[] }> = REQUEST_GROUPS,
): string {
  const total = [...requests.values()].reduce((sum, count) => sum + count, 0);
  const grouped = new Set(groups.flatMap((group) => group.kinds));
  const parts = groups.map(({ label, kinds }) => ({
    label,
    count: kinds.reduce((sum, kind) => sum + (requests.get(kind) ?? 0), 0),
  }));
  parts.push({
    label: 'other',
    count: [...requests].reduce((sum, [kind, count]) => sum + (grouped.has(kind) ? 0 : count), 0),
  });
  const per = (count: number) => {
    const value = (count * 1000) / messages;
    return value >= 10 ? value.toFixed(0) : value.toFixed(1);
  };
  return (
    `${per(total)} in all: ` +
    parts
      .filter((part) => part.count > 0)
      .map((part) => `${part.label} ${per(part.count)}`)
      .join(', ')
  );
}
