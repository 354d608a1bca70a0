import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { IHeaders } from 'kafkajs';
import {
  callOutcomeAttributes,
  contextFromHeaders,
  inProviderCallSpan,
  inSpan,
  recordHop,
  SpanKind,
  startTracing,
  tracingOn,
  withTraceHeaders,
  type Tracing,
} from '@herald/tracing';

/** What a Kafka record's headers look like once consumed: Buffers. */
function asConsumed(headers: IHeaders | undefined): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([key, value]) => [key, Buffer.from(String(value))]),
  );
}

describe('tracing, off (no collector configured)', () => {
  it('starts nothing, adds no header and just runs the work', async () => {
    expect(startTracing({ service: 'herald-test', instance: 'a', endpoint: null })).toBeNull();
    expect(tracingOn()).toBe(false);
    const headers = { 'herald-due-at': '1' };
    expect(withTraceHeaders(headers)).toBe(headers);
    expect(withTraceHeaders(undefined)).toBeUndefined();
    expect(recordHop('delay 1s', headers, 0, {})).toBe(headers);
    expect(await inSpan('work', {}, async (span) => (span === null ? 'ran' : 'span'))).toBe('ran');
  });
});

describe('tracing, on, read from an in-memory exporter', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | null;

  beforeAll(() => {
    tracing = startTracing({ service: 'herald-test', instance: 'a', endpoint: null, exporter });
  });
  afterAll(async () => {
    await tracing?.shutdown();
    expect(tracingOn()).toBe(false);
  });
  beforeEach(() => exporter.reset());

  const task1 = {
    messageId: 'm-1',
    tenantId: 'acme',
    provider: 'webhook',
    channel: 'webhook',
    attempt: 2,
  };

  it('carries one trace across records: POST → handling → delay hop → handling → call', async () => {
    // Ingest: the root span, and the request record it writes.
    const requested = await inSpan('POST /v1/messages', { kind: SpanKind.SERVER }, async () =>
      asConsumed(withTraceHeaders(undefined)),
    );
    expect(String(requested.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    // A consumer handles the record in its trace and writes a task that carries it on.
    const task = await inSpan(
      'herald-ingest herald.messages.requested',
      { kind: SpanKind.CONSUMER, parent: contextFromHeaders(requested) },
      async () => asConsumed(withTraceHeaders({ 'herald-due-at': '5000' })),
    );
    expect(task['herald-due-at']!.toString()).toBe('5000');

    // The task waits in a delay tier: a span from its append to its release.
    const appendedAt = Date.now() - 1_000;
    const released = asConsumed(recordHop('delay 1s', task, appendedAt, { 'herald.tier': '1s' }));

    // The sender handles it and calls the provider inside.
    await inSpan(
      'herald-sender herald.deliveries',
      { kind: SpanKind.CONSUMER, parent: contextFromHeaders(released) },
      () => inProviderCallSpan('send', task1, async () => ({ ok: true as const })),
    );

    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    expect([...byName.keys()].sort()).toEqual([
      'POST /v1/messages',
      'delay 1s',
      'herald-ingest herald.messages.requested',
      'herald-sender herald.deliveries',
      'provider webhook send',
    ]);
    // One trace, each span the child of the one before it.
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    const parentOf = (name: string) => byName.get(name)!.parentSpanContext?.spanId;
    const idOf = (name: string) => byName.get(name)!.spanContext().spanId;
    expect(parentOf('POST /v1/messages')).toBeUndefined();
    expect(parentOf('herald-ingest herald.messages.requested')).toBe(idOf('POST /v1/messages'));
    expect(parentOf('delay 1s')).toBe(idOf('herald-ingest herald.messages.requested'));
    expect(parentOf('herald-sender herald.deliveries')).toBe(idOf('delay 1s'));
    expect(parentOf('provider webhook send')).toBe(idOf('herald-sender herald.deliveries'));
    // The hop's span starts at the append.
    const hop = byName.get('delay 1s')!;
    expect(hop.startTime[0] * 1000 + hop.startTime[1] / 1e6).toBeCloseTo(appendedAt, -1);
    expect(byName.get('provider webhook send')!.kind).toBe(SpanKind.CLIENT);
    expect(byName.get('provider webhook send')!.attributes).toEqual({
      'herald.message_id': 'm-1',
      'herald.tenant_id': 'acme',
      'herald.provider': 'webhook',
      'herald.channel': 'webhook',
      'herald.attempt': 2,
      'herald.outcome': 'ok',
    });
    expect(byName.get('POST /v1/messages')!.resource.attributes).toMatchObject({
      'service.name': 'herald-test',
      'service.instance.id': 'a',
    });
  });

  it('starts a new trace for a record that carries none, and records a thrown error', async () => {
    await expect(
      inSpan('herald-sender herald.deliveries', { parent: contextFromHeaders({}) }, async () => {
        throw new Error('provider exploded');
      }),
    ).rejects.toThrow('provider exploded');
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.status).toMatchObject({ code: 2, message: 'provider exploded' });
    expect(span!.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('names a status check by its provider and says how the provider answered', async () => {
    const failed = {
      ok: false as const,
      error: { category: 'retryable', code: 'http_503' },
    };
    const task = { ...task1, provider: 'twilio', channel: 'sms' };
    expect(await inProviderCallSpan('status', task, async () => failed)).toBe(failed);
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('provider twilio status');
    expect(span!.attributes).toMatchObject({
      'herald.outcome': 'retryable',
      'herald.error.code': 'http_503',
    });
  });

  it('says of a failed call its category and code only', () => {
    expect(
      callOutcomeAttributes({ ok: false, error: { category: 'retryable', code: 'http_503' } }),
    ).toEqual({ 'herald.outcome': 'retryable', 'herald.error.code': 'http_503' });
  });
});
