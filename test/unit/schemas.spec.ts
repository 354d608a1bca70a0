import avro from 'avsc';
import { readSchema, resolveSchemaDir } from '@herald/schema-registry';
import { ALL_TOPICS } from '@herald/topics';

const schemaDir = resolveSchemaDir();
const load = (name: string) => JSON.parse(readSchema(schemaDir, name));
const fieldNames = (schema: { fields: { name: string }[] }) => schema.fields.map((f) => f.name);
type Field = { name: string; type: unknown };
const field = (schema: { fields: Field[] }, name: string): Field => {
  const found = schema.fields.find((f) => f.name === name);
  if (!found) throw new Error(`no field ${name}`);
  return found;
};

describe('Avro schemas', () => {
  it('exists and parses for every topic that declares one', () => {
    for (const { valueSchema } of ALL_TOPICS) {
      if (valueSchema) expect(() => avro.Type.forSchema(load(valueSchema))).not.toThrow();
    }
  });

  it('gives every enum a default, so a reader holding this schema can read symbols added later', () => {
    // Avro resolves a symbol the reader does not know only through the reader's default.
    const enums: Array<{ name: string; default?: string; symbols: string[] }> = [];
    const walk = (type: unknown): void => {
      if (Array.isArray(type)) return type.forEach(walk);
      if (type === null || typeof type !== 'object') return;
      const t = type as Record<string, unknown>;
      if (t.type === 'enum') enums.push(t as never);
      if (Array.isArray(t.fields)) for (const f of t.fields as Field[]) walk(f.type);
      walk(t.items);
      walk(t.values);
      if (typeof t.type === 'object') walk(t.type);
    };
    for (const { valueSchema } of ALL_TOPICS) if (valueSchema) walk(load(valueSchema));
    expect(enums.length).toBeGreaterThan(5);
    for (const e of enums) {
      expect({ name: e.name, default: e.default }).toEqual({ name: e.name, default: 'unknown' });
      expect(e.symbols).toContain('unknown');
    }
  });

  it('MessageRequested has the contract fields', () => {
    expect(fieldNames(load('message-requested'))).toEqual([
      'messageId',
      'tenantId',
      'channel',
      'provider',
      'providers',
      'recipient',
      'content',
      'retryPolicy',
      'metadata',
      'requestedAt',
    ]);
  });

  it('MessageEvent has the contract fields, types and statuses', () => {
    const schema = load('message-event');
    expect(fieldNames(schema)).toEqual(
      expect.arrayContaining([
        'eventId',
        'messageId',
        'tenantId',
        'seq',
        'type',
        'status',
        'attempt',
        'occurredAt',
        'nextAttemptAt',
        'error',
        'log',
        'providerMessageId',
        'provider',
        'failover',
      ]),
    );
    expect((field(schema, 'type').type as { symbols: string[] }).symbols).toEqual([
      'queued',
      'delivery_attempted',
      'sent',
      'undelivered',
      'status_check_attempted',
      'delivered',
      'bounced',
      'not_sent',
      'canceled',
      'resend_requested',
      'provider_failover',
      'unknown',
    ]);
    expect((field(schema, 'status').type as { symbols: string[] }).symbols).toEqual([
      'queued',
      'delivery_attempted',
      'sent',
      'delivered',
      'undelivered',
      'bounced',
      'not_sent',
      'canceled',
      'unknown',
    ]);
  });

  it('keeps the Channel enum identical in both schemas', () => {
    const requested = field(load('message-requested'), 'channel').type;
    const summary = (
      field(load('message-event'), 'message').type as [null, { fields: Field[] }]
    )[1];
    expect(field(summary, 'channel').type).toEqual(requested);
    for (const task of ['delivery-task', 'status-check-task']) {
      expect(field(load(task), 'channel').type).toEqual(requested);
    }
  });

  it('round-trips a MessageEvent with an error and a provider log', () => {
    const type = avro.Type.forSchema(load('message-event'));
    const event = {
      eventId: '6f1c1f1e-8b7a-4d62-9a55-2d3f7f0e3c11',
      messageId: 'm-1',
      tenantId: 't-1',
      seq: 2,
      type: 'delivery_attempted',
      status: 'delivery_attempted',
      attempt: 1,
      maxAttempts: 9,
      occurredAt: 1_700_000_000_000,
      nextAttemptAt: 1_700_000_005_000,
      error: { category: 'retryable', code: 'http_503', message: 'Service Unavailable' },
      log: {
        request: { method: 'POST', url: 'https://x.test/hook', headers: {}, body: '{}' },
        response: { status: 503, headers: { 'retry-after': '5' }, body: null },
        durationMs: 12,
      },
      message: null,
      providerMessageId: 'SM0123',
      provider: 'twilio',
      failover: null,
    };
    expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
  });
});
