import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { createKafka, readToEnd } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { TOPICS } from '@herald/topics';
import { apiKeysEnv, bearer, newTenantKey, REPO_ROOT, waitFor } from '@tools/harness';
import { Herald } from '../support/herald';
import { testEnv } from '../support/servers';

const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;

/** Two tenants of this run, each with a key given by HERALD_API_KEYS. */
const acme = newTenantKey(`acme-${run}`);
const globex = newTenantKey(`globex-${run}`);

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(
  url: string,
  key: string | null,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key === null ? {} : bearer(key)),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

/** `npm run herald -- keys …`, the operator's CLI, against the tests' MongoDB. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npm', ['run', '--silent', 'herald', '--', 'keys', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, MONGODB_URI: testEnv().mongodbUri },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('access and tenancy against the real servers', () => {
  const env = testEnv();
  let herald: Herald;
  let mongo: MongoClient;
  let kafka: Kafka;
  let ingest: string;
  let projector: string;

  beforeAll(async () => {
    herald = await Herald.start({ ...apiKeysEnv([acme, globex]) });
    ingest = `http://127.0.0.1:${herald.service('ingest').port}`;
    projector = `http://127.0.0.1:${herald.service('projector').port}`;
    mongo = await createMongoClient(env.mongodbUri).connect();
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test-access',
      ...env.kafkaSecurity,
    });
  });

  afterAll(async () => {
    await herald?.stop();
    await mongo?.close();
  });

  /** Every /v1 endpoint the services serve, as [method, url, body]. */
  const endpoints = (messageId: string): [string, string, unknown][] => [
    ['POST', `${ingest}/v1/messages`, { messageId, channel: 'in_app', provider: 'in_app' }],
    ['GET', `${projector}/v1/messages`, undefined],
    ['GET', `${projector}/v1/messages/${messageId}`, undefined],
    ['GET', `${projector}/v1/messages/${messageId}/events`, undefined],
    ['GET', `${projector}/v1/messages/${messageId}/logs`, undefined],
    ['GET', `${projector}/v1/recipients/user-1/feed`, undefined],
    ['POST', `${projector}/v1/recipients/user-1/tokens`, {}],
  ];

  async function sendInApp(key: string, messageId: string, recipient: string) {
    const answer = await call(`${ingest}/v1/messages`, key, {
      method: 'POST',
      body: {
        messageId,
        channel: 'in_app',
        provider: 'in_app',
        recipient,
        content: { title: `hello ${messageId}` },
      },
    });
    expect(answer.status).toBe(202);
  }

  async function delivered(key: string, messageId: string) {
    return waitFor(
      `${messageId} to be delivered`,
      async () => {
        const answer = await call(`${projector}/v1/messages/${messageId}`, key);
        return answer.status === 200 && answer.body.status === 'delivered' ? answer : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  it('answers 401 JSON on every /v1 endpoint without a key, or with a wrong one', async () => {
    const wrong = newTenantKey('nobody').key;
    for (const [method, url, body] of endpoints(id('no-key'))) {
      for (const key of [null, wrong, 'not-a-key', `${acme.key}x`]) {
        const answer = await call(url, key, { method, body });
        expect({ method, url, key, status: answer.status, body: answer.body }).toEqual({
          method,
          url,
          key,
          status: 401,
          body: expect.objectContaining({ error: 'unauthorized' }),
        });
        expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    // Health stays open; /metrics and /docs answer loopback callers (these tests are loopback).
    for (const service of herald.services) {
      const base = `http://127.0.0.1:${service.port}`;
      const live = await call(`${base}/health/live`, null);
      expect({ status: live.status, body: live.body }).toEqual({
        status: 200,
        body: { status: 'live', service: service.name },
      });
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    }
    const docs = await call(`${projector}/docs`, null);
    expect(docs.status).toBe(200);
    expect(docs.body).toMatchObject({
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    });
  });

  it('sends as the key tenant and refuses a body naming another (403 naming tenantId)', async () => {
    const mine = id('own-tenant');
    await sendInApp(acme.key, mine, 'user-own');
    const message = (await delivered(acme.key, mine)).body;
    expect(message.tenantId).toBe(acme.tenantId);

    const forbidden = await call(`${ingest}/v1/messages`, acme.key, {
      method: 'POST',
      body: {
        messageId: id('other-tenant'),
        tenantId: globex.tenantId,
        channel: 'in_app',
        provider: 'in_app',
        recipient: 'user-own',
        content: { title: 'x' },
      },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.problems).toEqual([expect.objectContaining({ field: 'tenantId' })]);
  });

  it('keeps each tenant to its own messages, events, logs, list and feed; one messageId, two deliveries', async () => {
    const shared = id('shared');
    const recipient = `user-${run}`;
    await sendInApp(acme.key, shared, recipient);
    const acmeMessage = await delivered(acme.key, shared);
    expect(acmeMessage.body.tenantId).toBe(acme.tenantId);

    // globex cannot see it: 404, the same answer as an id nobody used.
    const unknown = await call(`${projector}/v1/messages/${id('never-sent')}`, globex.key);
    expect(unknown.status).toBe(404);
    for (const path of ['', '/events', '/logs']) {
      const answer = await call(`${projector}/v1/messages/${shared}${path}`, globex.key);
      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe(unknown.body.error);
    }
    const globexList = await call(`${projector}/v1/messages?limit=100`, globex.key);
    expect(globexList.body.items).toEqual([]);
    const globexFeed = await call(`${projector}/v1/recipients/${recipient}/feed`, globex.key);
    expect(globexFeed.body.items).toEqual([]);

    // The same messageId under globex is a message of its own, delivered again (not a duplicate).
    await sendInApp(globex.key, shared, recipient);
    const globexMessage = await delivered(globex.key, shared);
    expect(globexMessage.body.tenantId).toBe(globex.tenantId);
    for (const key of [acme, globex]) {
      const feed = await call(`${projector}/v1/recipients/${recipient}/feed`, key.key);
      expect(feed.body.items).toEqual([
        expect.objectContaining({ id: shared, tenantId: key.tenantId, recipient }),
      ]);
      const list = await call(`${projector}/v1/messages?recipient=${recipient}`, key.key);
      expect(list.body.items).toEqual([
        expect.objectContaining({ id: shared, tenantId: key.tenantId }),
      ]);
      const events = await call(`${projector}/v1/messages/${shared}/events`, key.key);
      expect((events.body.events as { type: string }[]).map((e) => e.type)).toEqual([
        'queued',
        'delivered',
      ]);
    }
  });

  it('reads a recipient feed with a recipient token for that recipient only; expired or tampered → 401', async () => {
    const recipient = `reader-${run}`;
    const messageId = id('for-reader');
    await sendInApp(acme.key, messageId, recipient);
    await delivered(acme.key, messageId);

    const minted = await call(`${projector}/v1/recipients/${recipient}/tokens`, acme.key, {
      method: 'POST',
      body: {},
    });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ tenantId: acme.tenantId, recipient });
    const expiresAt = Date.parse(String(minted.body.expiresAt));
    expect(expiresAt - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(60 * 60_000 + 1000);
    const token = String(minted.body.token);

    const own = await call(`${projector}/v1/recipients/${recipient}/feed`, token);
    expect(own.status).toBe(200);
    expect(own.body.items).toEqual([expect.objectContaining({ id: messageId })]);
    // Nothing else: another recipient's feed, the message itself, minting more tokens.
    expect((await call(`${projector}/v1/recipients/someone-else/feed`, token)).status).toBe(404);
    expect((await call(`${projector}/v1/messages/${messageId}`, token)).status).toBe(401);
    expect((await call(`${ingest}/v1/messages`, token, { method: 'POST', body: {} })).status).toBe(
      401,
    );

    // Tampered: the payload names another recipient, the signature is the original's.
    const [head, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { sub: string };
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'victim' })).toString('base64url');
    const tampered = `${head}.${forged}.${signature}`;
    expect((await call(`${projector}/v1/recipients/victim/feed`, tampered)).status).toBe(401);

    // More than 24 hours is refused; a one-second token stops working once it expires.
    const tooLong = await call(`${projector}/v1/recipients/${recipient}/tokens`, acme.key, {
      method: 'POST',
      body: { expiresIn: 24 * 3600 + 1 },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.problems).toEqual([expect.objectContaining({ field: 'expiresIn' })]);
    const short = await call(`${projector}/v1/recipients/${recipient}/tokens`, acme.key, {
      method: 'POST',
      body: { expiresIn: 1 },
    });
    const shortToken = String(short.body.token);
    expect((await call(`${projector}/v1/recipients/${recipient}/feed`, shortToken)).status).toBe(
      200,
    );
    await waitFor(
      'the one-second token to expire',
      async () =>
        (await call(`${projector}/v1/recipients/${recipient}/feed`, shortToken)).status === 401 ||
        undefined,
      { timeoutMs: 5_000, intervalMs: 100 },
    );
  });

  it('serves the feed cross-origin only to the origins HERALD_FEED_CORS_ORIGINS lists', async () => {
    const origin = 'http://127.0.0.1:5173';
    const preflight = {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET' },
    };
    const off = await call(`${projector}/v1/recipients/u/feed`, null, preflight);
    expect(off.headers.get('access-control-allow-origin')).toBeNull();

    const withCors = await herald.startAnother('projector', { HERALD_FEED_CORS_ORIGINS: origin });
    const base = `http://127.0.0.1:${withCors.port}`;
    const on = await call(`${base}/v1/recipients/u/feed`, null, preflight);
    expect(on.status).toBe(204);
    expect(on.headers.get('access-control-allow-origin')).toBe(origin);
    expect(on.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    // Only the feed: the read API sends no CORS headers, even to a listed origin.
    const api = await call(`${base}/v1/messages`, acme.key, { headers: { origin } });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a key made by the CLI works at once, and stops working everywhere within 10 s of its revocation', async () => {
    const tenant = `cli-${run}`;
    const created = cli(['create', '--tenant', tenant, '--json']);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const { id: keyId, key } = JSON.parse(created.stdout) as { id: string; key: string };
    expect(key).toMatch(/^hk_sk_[A-Za-z0-9_-]{43,}$/);

    const messageId = id('cli-key');
    await sendInApp(key, messageId, 'user-cli');
    await delivered(key, messageId);
    const token = String(
      (await call(`${projector}/v1/recipients/user-cli/tokens`, key, { method: 'POST', body: {} }))
        .body.token,
    );

    const listed = cli(['list', '--json']);
    const entry = (JSON.parse(listed.stdout) as { id: string; tenantId: string }[]).find(
      (k) => k.id === keyId,
    );
    expect(entry).toMatchObject({ tenantId: tenant, revokedAt: null });
    expect(listed.stdout).not.toContain(key);

    const revoked = cli(['revoke', keyId]);
    expect(revoked.status).toBe(0);
    const revokedAt = Date.now();
    const refused = async () => {
      const answers = await Promise.all([
        call(`${ingest}/v1/messages`, key, { method: 'POST', body: {} }),
        call(`${projector}/v1/messages/${messageId}`, key),
        call(`${projector}/v1/recipients/user-cli/feed`, token),
      ]);
      return answers.every((a) => a.status === 401) || undefined;
    };
    await waitFor('the revoked key and its tokens to be refused', refused, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(cli(['revoke', 'key_does-not-exist']).status).toBe(1);
  });

  it('keeps no key in MongoDB, in any topic or in any log: only its hash', async () => {
    const keys = [acme.key, globex.key];
    const db = heraldDb(mongo, env.mongodbUri);
    const stored = await db.collection('api_keys').find({}).toArray();
    expect(stored.some((doc) => doc.tenantId === acme.tenantId)).toBe(true);
    const tenants = [acme.tenantId, globex.tenantId];
    for (const name of ['api_keys', 'herald_secrets']) {
      const text = JSON.stringify(await db.collection(name).find({}).toArray());
      for (const key of keys) expect(text).not.toContain(key);
    }
    for (const name of ['messages', 'events', 'in_app_feed']) {
      const docs = await db
        .collection(name)
        .find({ tenantId: { $in: tenants } })
        .toArray();
      expect(docs.length).toBeGreaterThan(0);
      const text = JSON.stringify(docs);
      for (const key of keys) expect(text).not.toContain(key);
    }

    // The work topics and the events (this test's messages never wait in a delay tier).
    for (const topic of Object.values(TOPICS)) {
      const leaks: string[] = [];
      await readToEnd(kafka, topic.name, async (messages: KafkaMessage[]) => {
        for (const message of messages) {
          const raw = Buffer.concat([
            message.key ?? Buffer.alloc(0),
            message.value ?? Buffer.alloc(0),
            ...Object.values(message.headers ?? {}).map((v) => Buffer.from(String(v))),
          ]).toString('latin1');
          for (const key of keys)
            if (raw.includes(key)) leaks.push(`${topic.name}@${message.offset}`);
        }
      });
      expect(leaks).toEqual([]);
    }

    for (const service of herald.services) {
      for (const key of keys) expect(service.output()).not.toContain(key);
    }
  });
});
