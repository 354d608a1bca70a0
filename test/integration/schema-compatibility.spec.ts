import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, resolveSchemaDir, SchemaRegistrationError } from '@herald/schema-registry';
import { ALL_TOPICS, type TopicSpec } from '@herald/topics';
import { testEnv } from '../support/servers';
import { startService, stopService } from '@tools/harness';

/** A copy of schemas/ where MessageRequested gains a required field: not BACKWARD compatible. */
function incompatibleSchemaDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-schemas-'));
  cpSync(resolveSchemaDir(), dir, { recursive: true });
  const file = join(dir, 'message-requested.avsc');
  const schema = JSON.parse(readFileSync(file, 'utf8'));
  schema.fields.push({ name: 'priority', type: 'int' }); // no default: old records can't be read
  writeFileSync(file, JSON.stringify(schema));
  return dir;
}

describe('an incompatible schema change', () => {
  const env = testEnv();
  let dir: string;

  beforeAll(async () => {
    // The real schemas are registered first, so the incompatible one is a change, not a first version.
    await AvroCodec.connect(env.schemaRegistryUrl, resolveSchemaDir(), env.registryAuth).register(
      ALL_TOPICS,
    );
    dir = incompatibleSchemaDir();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused by the registry, naming the subject', async () => {
    const topic: TopicSpec = {
      name: `herald.test.compat-${randomUUID().slice(0, 8)}`,
      partitions: 1,
      config: {},
      valueSchema: 'message-requested',
    };
    await AvroCodec.connect(env.schemaRegistryUrl, resolveSchemaDir(), env.registryAuth).register([
      topic,
    ]);
    const changed = AvroCodec.connect(env.schemaRegistryUrl, dir, env.registryAuth).register([
      topic,
    ]);
    await expect(changed).rejects.toBeInstanceOf(SchemaRegistrationError);
    await expect(changed).rejects.toThrow(`${topic.name}-value`);
  });

  it('stops a service at start, before it reports anything ready', async () => {
    const service = await startService('ingest', { env: { HERALD_SCHEMA_DIR: dir } });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      service.exited,
      new Promise<'still running'>((resolve) => {
        timer = setTimeout(() => resolve('still running'), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (code === 'still running') await stopService(service);
    expect(code).toBe(1);
    expect(service.output()).toContain('herald.messages.requested-value');
    expect(service.output()).toMatch(/refused/);
  });
});

describe('a compatible schema change', () => {
  const env = testEnv();

  it('reads a record written before a field was added with that field default', async () => {
    // MessageEvent as it was before providerMessageId, registered as the older version.
    const dir = mkdtempSync(join(tmpdir(), 'herald-schemas-old-'));
    try {
      cpSync(resolveSchemaDir(), dir, { recursive: true });
      const file = join(dir, 'message-event.avsc');
      const schema = JSON.parse(readFileSync(file, 'utf8'));
      schema.fields = schema.fields.filter((f: { name: string }) => f.name !== 'providerMessageId');
      writeFileSync(file, JSON.stringify(schema));
      const topic: TopicSpec = {
        name: `herald.test.evolve-${randomUUID().slice(0, 8)}`,
        partitions: 1,
        config: {},
        valueSchema: 'message-event',
      };
      const old = AvroCodec.connect(env.schemaRegistryUrl, dir, env.registryAuth);
      await old.register([topic]);
      const event = {
        eventId: randomUUID(),
        messageId: 'm-old',
        tenantId: 't',
        seq: 1,
        type: 'queued',
        status: 'queued',
        attempt: 0,
        maxAttempts: 9,
        occurredAt: 1_700_000_000_000,
        nextAttemptAt: null,
        error: null,
        log: null,
        message: null,
      };
      const bytes = await old.encode(topic.name, event);

      const current = AvroCodec.connect(
        env.schemaRegistryUrl,
        resolveSchemaDir(),
        env.registryAuth,
      );
      await current.register([topic]); // the newer version: BACKWARD compatible
      expect(await current.decode(bytes, 'message-event')).toEqual({
        ...event,
        providerMessageId: null,
        provider: null,
        failover: null,
      });
      // As written, the old record simply lacks the field.
      expect(await current.decode(bytes)).not.toHaveProperty('providerMessageId');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the message-controls schema change (enum defaults, then new symbols)', () => {
  const env = testEnv();

  it('passes the BACKWARD check, and a consumer holding the previous schema reads a canceled event', async () => {
    // The previous version: schemas/ as it was when the enums gained their defaults, before
    // canceled, resend_requested, provider_failover and the new fields (test/fixtures/schemas-v1).
    const dir = mkdtempSync(join(tmpdir(), 'herald-schemas-v1-'));
    try {
      cpSync(resolveSchemaDir(), dir, { recursive: true });
      cpSync(
        join(__dirname, '..', 'fixtures', 'schemas-v1', 'message-event.avsc'),
        join(dir, 'message-event.avsc'),
      );
      const topic: TopicSpec = {
        name: `herald.test.controls-${randomUUID().slice(0, 8)}`,
        partitions: 1,
        config: {},
        valueSchema: 'message-event',
      };
      const previous = AvroCodec.connect(env.schemaRegistryUrl, dir, env.registryAuth);
      await previous.register([topic]);
      const current = AvroCodec.connect(
        env.schemaRegistryUrl,
        resolveSchemaDir(),
        env.registryAuth,
      );
      await current.register([topic]); // refused unless BACKWARD compatible

      const canceled = {
        eventId: randomUUID(),
        messageId: 'm-canceled',
        tenantId: 't',
        seq: 3,
        type: 'canceled',
        status: 'canceled',
        attempt: 1,
        maxAttempts: 9,
        occurredAt: 1_800_000_000_000,
        nextAttemptAt: null,
        error: null,
        log: null,
        message: null,
        providerMessageId: null,
        provider: null,
        failover: null,
      };
      const bytes = await current.encode(topic.name, canceled);
      // Read through the previous schema: the symbols it does not know come out as its default.
      // It has no provider or failover fields: those came with the new symbols.
      const read = await previous.decode(bytes, 'message-event');
      expect(read).toEqual({
        ...canceled,
        type: 'unknown',
        status: 'unknown',
        provider: undefined,
        failover: undefined,
      });
      expect(read).not.toHaveProperty('failover');
      // And a current reader sees the event as written.
      expect(await current.decode(bytes, 'message-event')).toEqual(canceled);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
