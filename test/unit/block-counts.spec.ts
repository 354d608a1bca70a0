import avro from 'avsc';
import {
  BlockCountError,
  checkBlockCounts,
  readSchema,
  resolveSchemaDir,
} from '@herald/schema-registry';

const schemaDir = resolveSchemaDir();
const typeOf = (name: string) => avro.Type.forSchema(JSON.parse(readSchema(schemaDir, name)));

const requested = {
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'webhook',
  provider: 'webhook',
  recipient: 'https://hooks.example.test/x',
  content: { body: 'hi', subject: 'Ω 日本 😀' },
  retryPolicy: null,
  metadata: { order: '42' },
  requestedAt: 1_700_000_000_000,
};

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
    request: { method: 'POST', url: 'https://x.test/hook', headers: { a: 'b' }, body: '{}' },
    response: { status: 503, headers: { 'retry-after': '5' }, body: null },
    durationMs: 12,
  },
  message: {
    channel: 'webhook',
    provider: 'webhook',
    recipient: 'https://x.test/hook',
    retryPolicy: 'webhook',
    requestedAt: 1_700_000_000_000,
    metadata: { k: 'v' },
  },
  providerMessageId: 'SM0123',
};

describe('block counts checked before avsc decodes', () => {
  it("lets every record Herald writes through, Herald's own schemas walked in full", () => {
    expect(() =>
      checkBlockCounts(
        typeOf('message-requested'),
        typeOf('message-requested').toBuffer(requested),
      ),
    ).not.toThrow();
    expect(() =>
      checkBlockCounts(typeOf('message-event'), typeOf('message-event').toBuffer(event)),
    ).not.toThrow();
    const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, '']));
    const type = typeOf('message-requested');
    expect(() =>
      checkBlockCounts(type, type.toBuffer({ ...requested, content: many })),
    ).not.toThrow();
  });

  it('refuses a map claiming more entries than its bytes could hold, at once', () => {
    // Found by the fuzz: a request cut after its recipient, with content's count set to 2^40.
    const type = typeOf('message-requested');
    const whole = type.toBuffer({ ...requested, content: {} });
    const recipientEnd =
      whole.indexOf(Buffer.from(requested.recipient)) + requested.recipient.length;
    const zigzag = (n: number) => {
      const bytes: number[] = [];
      let value = n * 2;
      while (value >= 128) {
        bytes.push((value % 128) | 0x80);
        value = Math.floor(value / 128);
      }
      bytes.push(value);
      return Buffer.from(bytes);
    };
    const hostile = Buffer.concat([whole.subarray(0, recipientEnd), zigzag(2 ** 40)]);
    // Refused at the count: avsc would loop once per claimed entry, for hours.
    expect(() => checkBlockCounts(type, hostile)).toThrow(BlockCountError);
    expect(() => checkBlockCounts(type, hostile)).toThrow(
      /a block claims 1099511627776 items with 0 bytes left/,
    );
  });

  it('refuses a length or a number running past the end, as avsc would', () => {
    const type = typeOf('message-requested');
    const bytes = type.toBuffer(requested);
    expect(() => checkBlockCounts(type, bytes.subarray(0, bytes.length - 3))).toThrow(
      BlockCountError,
    );
    expect(() => checkBlockCounts(type, Buffer.from([0xff, 0xff]))).toThrow(BlockCountError);
  });
});
