/**
 * Baseline "a Redis job queue", the usual way notification systems are built (Knock-style
 * retries): a BullMQ Queue filled with addBulk and one Worker whose `concurrency` bounds the
 * provider calls in flight (same number as Herald's HERALD_MAX_IN_FLIGHT), each job one
 * undici POST on a keep-alive Agent like libs/providers/src/http-call.ts. Jobs carry BullMQ's
 * exponential back-off (9 attempts, 7 s base) and a non-2xx answer fails the job so BullMQ
 * retries it; completed jobs are removed (removeOnComplete), as a busy deployment would.
 *
 * What it leaves out: durability settings of Redis (the bench's Redis runs without RDB/AOF,
 * scripts/infra/redis.sh, which flatters this baseline), a replayable event log, per-recipient
 * ordering, status tracking, and everything Herald does per message besides the call. Load
 * generator, worker and completion counter share the caller's process; timing starts right
 * before the first addBulk (the worker is already connected and waiting) and stops when the
 * worker has completed every job.
 *
 * BullMQ 6 talks to Redis through an optional driver: `ioredis` must be installed.
 *
 * With `mongoUri` it is the peer a team would really build, shaped like Novu's worker: after
 * each job's call, the job's status document is upserted and a log document of the call (what
 * Novu calls execution details) inserted, on the same MongoDB-protocol server as Herald's read
 * model, the job completing only once both are written. Two writes per message, as against
 * Herald's four (see issue 18).
 *
 * `runBullmqRetryPrecision` measures how late BullMQ starts a delayed retry: every job fails
 * its first attempt (without calling the provider), its back-off being a per-job delay spread
 * evenly over [minDelayMs, maxDelayMs]; the second attempt calls the provider. Lateness = start
 * of the second attempt (Date.now() on entering the processor) − the due time BullMQ itself
 * scheduled (its 'delayed' event: failure time + delay). Same machine, same clock.
 */
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { MongoClient, type Collection } from 'mongodb';
import { Agent, request } from 'undici';
import { CpuWindow } from '../cpu-usage';
import type { BaselineResult } from './kafkajs-loop';

export interface BullmqBaselineOptions {
  /** e.g. redis://127.0.0.1:6379 (scripts/infra/redis.sh url). */
  redisUrl: string;
  /** The provider URL job i is POSTed to. */
  targetUrl: (i: number) => string;
  messages: number;
  /** Worker concurrency: provider calls in flight (Herald: 512). */
  concurrency: number;
  /** Names the queue: bench-<runId>. */
  runId: string;
  /** Gives up (and cleans up) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Per-call bound on the HTTP exchange; default 30 s. */
  httpTimeoutMs?: number;
  /** The peer: a status and a log document per job in this database (dropped by the caller). */
  mongoUri?: string;
}

export interface BullmqRetryPrecisionOptions {
  redisUrl: string;
  /** The provider URL job i is POSTed to on its (successful) second attempt. */
  targetUrl: (i: number) => string;
  jobs: number;
  concurrency: number;
  runId: string;
  /** Retry delays are spread evenly over [minDelayMs, maxDelayMs]; default 1 s – 60 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Default: maxDelayMs + 5 minutes. */
  timeoutMs?: number;
}

export interface RetryPrecisionResult {
  jobs: number;
  /** Per job (index i): retry start − scheduled retry time, in ms. */
  latenessMs: number[];
  /** Per job: the delay it asked for, in ms. */
  delayMs: number[];
}

/** BullMQ's exponential back-off, like Knock's retry policy. */
const ATTEMPTS = 9;
const BACKOFF = { type: 'exponential', delay: 7_000 } as const;
const ADD_CHUNK = 1_000;

interface JobData {
  i: number;
  body: { to: string; text: string };
  /** Retry-precision jobs only: the back-off this job asks for. */
  delayMs?: number;
}

function httpAgent(concurrency: number): Agent {
  // Like libs/providers/src/http-call.ts, with as many connections as calls in flight.
  return new Agent({ keepAliveTimeout: 30_000, connections: concurrency, pipelining: 1 });
}

async function post(agent: Agent, url: string, body: unknown, timeoutMs: number): Promise<number> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: agent,
    signal: AbortSignal.timeout(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  await response.body.text();
  if (response.statusCode < 200 || response.statusCode > 299) {
    throw new Error(`provider answered ${response.statusCode}`);
  }
  return response.statusCode;
}

/** What the peer writes per job: its status, and a log of the call. */
interface PeerStore {
  statuses: Collection<{ _id: string; status: string; attempts: number; updatedAt: Date }>;
  logs: Collection<{ jobId: string; status: string; providerStatus: number; createdAt: Date }>;
  close(): Promise<void>;
}

async function openPeerStore(uri: string): Promise<PeerStore> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db();
  return {
    statuses: db.collection('bench_peer_statuses'),
    logs: db.collection('bench_peer_logs'),
    close: () => client.close(),
  };
}

/** The peer's bookkeeping after a call, as Novu's worker does it: status, then the log. */
async function recordCall(store: PeerStore, job: Job<JobData>, providerStatus: number) {
  const jobId = String(job.id);
  const now = new Date();
  await store.statuses.updateOne(
    { _id: jobId },
    { $set: { status: 'sent', attempts: job.attemptsMade + 1, updatedAt: now } },
    { upsert: true },
  );
  await store.logs.insertOne({ jobId, status: 'sent', providerStatus, createdAt: now });
}

/** A promise settled from outside, with a deadline. */
function completion(timeoutMs: number, what: () => string) {
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  promise.catch(() => undefined); // awaited by the caller; this only keeps it handled meanwhile
  const timer = setTimeout(() => fail(new Error(what())), timeoutMs);
  return { promise, finish, fail, cancel: () => clearTimeout(timer) };
}

async function addAll(queue: Queue<JobData>, count: number, data: (i: number) => JobData) {
  for (let from = 0; from < count; from += ADD_CHUNK) {
    const chunk = [];
    for (let i = from; i < Math.min(count, from + ADD_CHUNK); i++) {
      chunk.push({ name: 'send', data: data(i) });
    }
    await queue.addBulk(chunk);
  }
}

async function cleanUp(queue: Queue<JobData>, worker: Worker<JobData>, agent: Agent) {
  const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
  await quietly(worker.close(true));
  await quietly(queue.obliterate({ force: true }));
  await quietly(queue.close());
  await quietly(agent.close());
}

export async function runBullmqBaseline(opts: BullmqBaselineOptions): Promise<BaselineResult> {
  const { messages } = opts;
  if (!Number.isInteger(messages) || messages <= 0) throw new Error('messages must be > 0');
  const httpTimeoutMs = opts.httpTimeoutMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const name = `bench-${opts.runId}${opts.mongoUri ? '-peer' : ''}`;
  const connection = { url: opts.redisUrl };
  const agent = httpAgent(opts.concurrency);
  const store = opts.mongoUri ? await openPeerStore(opts.mongoUri) : undefined;
  const queue = new Queue<JobData>(name, {
    connection,
    defaultJobOptions: {
      attempts: ATTEMPTS,
      backoff: BACKOFF,
      removeOnComplete: true,
      removeOnFail: false,
    },
  });
  const worker = new Worker<JobData>(
    name,
    async (job: Job<JobData>) => {
      const status = await post(agent, opts.targetUrl(job.data.i), job.data.body, httpTimeoutMs);
      if (store) await recordCall(store, job, status);
      return status;
    },
    { connection, concurrency: opts.concurrency },
  );

  // Distinct jobs completed (a stalled job may complete twice), and jobs out of attempts.
  const seen = new Uint8Array(messages);
  let completed = 0;
  let exhausted = 0;
  let finishedAt = 0;
  const done = completion(
    timeoutMs,
    () => `bullmq baseline: ${completed}/${messages} completed after ${timeoutMs} ms`,
  );
  const settle = () => {
    if (completed + exhausted < messages || finishedAt !== 0) return;
    finishedAt = performance.now();
    if (exhausted > 0) done.fail(new Error(`bullmq baseline: ${exhausted} jobs failed for good`));
    else done.finish();
  };
  worker.on('completed', (job) => {
    const { i } = job.data;
    if (i >= 0 && i < messages && seen[i] === 0) {
      seen[i] = 1;
      completed += 1;
      settle();
    }
  });
  worker.on('failed', (job) => {
    if (job && job.attemptsMade >= ATTEMPTS) {
      exhausted += 1;
      settle();
    }
  });
  worker.on('error', (error) => done.fail(error));

  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const cpu = new CpuWindow();
    cpu.begin();
    const startedAt = performance.now();
    await addAll(queue, messages, (i) => ({
      i,
      body: { to: `user-${i}`, text: `bench message ${i}` },
    }));
    await done.promise;
    const seconds = (finishedAt - startedAt) / 1000;
    const usage = cpu.end();
    if (store) {
      // The peer did its bookkeeping for every job, or its rate means nothing.
      const statuses = await store.statuses.countDocuments();
      if (statuses !== messages) {
        throw new Error(`bullmq + mongodb peer: ${statuses} status documents for ${messages} jobs`);
      }
    }
    return { messages, seconds, perSecond: messages / seconds, cpu: usage };
  } finally {
    done.cancel();
    await cleanUp(queue, worker, agent);
    await store?.close().catch(() => undefined);
  }
}

export async function runBullmqRetryPrecision(
  opts: BullmqRetryPrecisionOptions,
): Promise<RetryPrecisionResult> {
  const { jobs } = opts;
  if (!Number.isInteger(jobs) || jobs <= 0) throw new Error('jobs must be > 0');
  const minDelayMs = opts.minDelayMs ?? 1_000;
  const maxDelayMs = opts.maxDelayMs ?? 60_000;
  const timeoutMs = opts.timeoutMs ?? maxDelayMs + 300_000;
  const delayMs = Array.from({ length: jobs }, (_, i) =>
    Math.round(jobs === 1 ? minDelayMs : minDelayMs + ((maxDelayMs - minDelayMs) * i) / (jobs - 1)),
  );
  const name = `bench-${opts.runId}-retry`;
  const connection = { url: opts.redisUrl };
  const agent = httpAgent(opts.concurrency);
  const queue = new Queue<JobData>(name, {
    connection,
    defaultJobOptions: {
      attempts: 2,
      backoff: { type: 'per-job' },
      removeOnComplete: true,
      removeOnFail: false,
    },
  });
  // BullMQ's own record of when each retry is due (its 'delayed' event), and when it started.
  const events = new QueueEvents(name, { connection });
  const scheduledAt = new Float64Array(jobs);
  const startedAt = new Float64Array(jobs);
  let scheduled = 0;
  let completed = 0;
  const done = completion(
    timeoutMs,
    () =>
      `bullmq retry precision: ${completed}/${jobs} completed, ${scheduled}/${jobs} retries ` +
      `scheduled after ${timeoutMs} ms`,
  );
  const settle = () => {
    if (completed === jobs && scheduled === jobs) done.finish();
  };
  const indexOf = (jobId: string | undefined) => Number(jobId?.slice(1) ?? Number.NaN);
  events.on('delayed', ({ jobId, delay }) => {
    const i = indexOf(jobId);
    if (i >= 0 && i < jobs && scheduledAt[i] === 0) {
      scheduledAt[i] = Number(delay);
      scheduled += 1;
      settle();
    }
  });
  const worker = new Worker<JobData>(
    name,
    async (job: Job<JobData>) => {
      const { i } = job.data;
      if (job.attemptsMade === 0) throw new Error('first attempt fails on purpose');
      if (startedAt[i] === 0) startedAt[i] = Date.now();
      return post(agent, opts.targetUrl(i), job.data.body, 30_000);
    },
    {
      connection,
      concurrency: opts.concurrency,
      settings: { backoffStrategy: (_attempts, _type, _error, job) => job?.data.delayMs ?? 0 },
    },
  );
  worker.on('completed', () => {
    completed += 1;
    settle();
  });
  worker.on('failed', (job) => {
    if (job && job.attemptsMade >= 2) done.fail(new Error(`job ${job.data.i} failed its retry`));
  });
  worker.on('error', (error) => done.fail(error));

  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);
    for (let from = 0; from < jobs; from += ADD_CHUNK) {
      const chunk = [];
      for (let i = from; i < Math.min(jobs, from + ADD_CHUNK); i++) {
        const data = { i, body: { to: `user-${i}`, text: `retry ${i}` }, delayMs: delayMs[i] };
        chunk.push({ name: 'send', data, opts: { jobId: `r${i}` } });
      }
      await queue.addBulk(chunk);
    }
    await done.promise;
    const latenessMs = Array.from({ length: jobs }, (_, i) => startedAt[i]! - scheduledAt[i]!);
    return { jobs, latenessMs, delayMs };
  } finally {
    done.cancel();
    await events.close().catch(() => undefined);
    await cleanUp(queue, worker, agent);
  }
}
