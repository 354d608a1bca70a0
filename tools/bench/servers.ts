/**
 * The servers the bench runs against (Kafka, the schema registry, MongoDB), found through
 * scripts/infra.sh and the harness: started when they are not running, one MongoDB database
 * per scenario, and Herald's topics left without this run's unfinished records.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { infra, infraEnv, localServer, localServerSays, withDatabase } from '@tools/harness';
import type { Cleanups } from './cleanups';
import { skipOwnBacklog } from './herald/backlogs';
import { errorMessage, say } from './log';

export interface Servers {
  brokers: string[];
  registryUrl: string;
  /** The run's own database, e.g. mongodb://127.0.0.1:27017/herald_bench_<run>. */
  mongoUri: string;
}

/** Starts the servers with scripts/infra.sh up when they are not all running; stops only those. */
export function ensureServersRunning(cleanups: Cleanups): void {
  if (infra('status', {}, 'quiet') === 0) return;
  say('servers are not all running: scripts/infra.sh up');
  cleanups.push('scripts/infra.sh down', () => {
    say('stopping the servers the bench started: scripts/infra.sh down');
    infra('down', {}, 'stderr');
  });
  if (infra('up', {}, 'stderr') !== 0) {
    throw new Error('scripts/infra.sh up failed');
  }
}

/**
 * Redis for the BullMQ baseline, started with scripts/infra/redis.sh when it is not running
 * (and then stopped afterwards). Undefined, with the failure recorded, when it cannot start.
 */
export function ensureRedisRunning(cleanups: Cleanups, failures: string[]): string | undefined {
  const redisUrl = () => localServerSays('redis', 'url');
  if (localServer('redis', 'status', 'quiet') === 0) return redisUrl();
  say('starting Redis for the BullMQ baseline: scripts/infra/redis.sh start');
  if (localServer('redis', 'start', 'stderr') !== 0) {
    failures.push('BullMQ baseline: scripts/infra/redis.sh start failed');
    return undefined;
  }
  cleanups.push('scripts/infra/redis.sh stop', () => {
    localServer('redis', 'stop', 'stderr');
  });
  return redisUrl();
}

/** The servers as `scripts/infra.sh env` names them, with the run's own database. */
export function runServers(runId: string): Servers {
  const env = infraEnv();
  return {
    brokers: env.KAFKA_BROKERS.split(','),
    registryUrl: env.SCHEMA_REGISTRY_URL,
    mongoUri: withDatabase(env.MONGODB_URI, `herald_bench_${runId}`),
  };
}

/**
 * Each scenario its own read model: FerretDB v1 finds a document by _id with a scan of the
 * whole collection, so a database shared across scenarios would make each run's updates
 * slower than the last and the scenarios' figures depend on their order.
 */
export function scenarioServers(servers: Servers, runId: string, scenario: string): Servers {
  return {
    ...servers,
    mongoUri: withDatabase(servers.mongoUri, `herald_bench_${runId}_${scenario}`),
  };
}

/** Bounded: a MongoDB-protocol server that accepts connections but never answers must not hang the bench. */
async function withMongo<T>(
  uri: string,
  timeoutMs: number,
  body: (client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    return await Promise.race([
      body(client),
      sleep(timeoutMs).then(() => {
        throw new Error(`no answer within ${timeoutMs / 1000} s`);
      }),
    ]);
  } finally {
    await client.close(true).catch(() => undefined);
  }
}

/** Throws, saying how to restart the local FerretDB, when MongoDB does not answer a ping. */
export async function assertMongoAnswers(servers: Servers): Promise<void> {
  try {
    await withMongo(servers.mongoUri, 10_000, (client) => client.db().command({ ping: 1 }));
  } catch (error) {
    throw new Error(
      `MongoDB at ${servers.mongoUri} does not answer a ping (${errorMessage(error)}); if it is the ` +
        'local FerretDB, restart it: bash scripts/infra/ferretdb.sh stop && bash scripts/infra/ferretdb.sh start',
    );
  }
}

export async function dropDatabase(uri: string): Promise<void> {
  await withMongo(uri, 30_000, (client) => client.db().dropDatabase());
}

export async function topicPartitions(kafka: Kafka, topic: string): Promise<number | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

/** Skips what this run left unfinished on Herald's topics (see skipOwnBacklog). */
export async function leaveTopicsClean(
  kafka: Kafka,
  runId: string,
  notes: string[],
): Promise<void> {
  let result = await skipOwnBacklog(kafka, `${runId}-`);
  if (result.busyGroups.length > 0) {
    // A member killed rather than stopped stays in its group until its session times out.
    say(`waiting for ${result.busyGroups.join(', ')} to have no members`);
    await sleep(35_000);
    const again = await skipOwnBacklog(kafka, `${runId}-`);
    result = { skipped: result.skipped + again.skipped, busyGroups: again.busyGroups };
  }
  if (result.skipped > 0) {
    const note =
      `${result.skipped} record(s) this run left unfinished on Herald's topics were skipped ` +
      "(the Herald consumer groups' offsets moved past them)";
    say(note);
    notes.push(note);
  }
  if (result.busyGroups.length > 0) {
    const note =
      `could not check for unfinished records of this run in ${result.busyGroups.join(', ')}: ` +
      'another Herald is consuming there';
    say(note);
    notes.push(note);
  }
}
