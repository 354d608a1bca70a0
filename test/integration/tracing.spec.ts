import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { waitFor } from '@tools/harness';
import { Herald } from '../support/herald';

/** A span as a collector receives it over OTLP/HTTP JSON, with its service's name. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined;

function attributesOf(list: OtlpAttributes): ReceivedSpan['attributes'] {
  return Object.fromEntries(
    (list ?? []).map(({ key, value }) => [
      key,
      value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue),
    ]),
  );
}

/** A collector on loopback keeping every span it is sent, in memory. */
async function startCollector(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: {
            resource: { attributes: OtlpAttributes };
            scopeSpans: {
              spans: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                attributes: OtlpAttributes;
              }[];
            }[];
          }[];
        };
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const service = String(attributesOf(resource.attributes)['service.name']);
          for (const span of scopeSpans.flatMap((scope) => scope.spans)) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              attributes: attributesOf(span.attributes),
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, server };
}

describe('one trace per message, across every hop, exported over OTLP', () => {
  const run = randomUUID().slice(0, 8);
  let herald: Herald;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    collector = await startCollector();
    herald = await Herald.start(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        // The webhook policy's first retry, 5 s, becomes 1 s: hops through the delay tiers.
        HERALD_TIME_SCALE: '0.2',
      },
      ['status-checker'],
    );
  });

  afterAll(async () => {
    await herald?.stop();
    await new Promise((resolve) => collector?.server.close(resolve));
  });

  /** The spans of the trace whose POST span names `messageId`. */
  const traceOf = (messageId: string): ReceivedSpan[] => {
    const root = collector.spans.find(
      (span) =>
        span.name === 'POST /v1/messages' && span.attributes['herald.message_id'] === messageId,
    );
    return root ? collector.spans.filter((span) => span.traceId === root.traceId) : [];
  };

  it('follows a message retried once from the POST through ingest, the delay tier, both calls and the projector', async () => {
    const messageId = `tracing-retried-${run}`;
    await herald.send(messageId, herald.hook('fail-503-1', messageId));
    expect((await herald.final(messageId)).message).toMatchObject({ status: 'sent', attempts: 2 });

    const spans = await waitFor(
      `the spans of ${messageId} to reach the collector`,
      () => {
        const found = traceOf(messageId);
        const calls = found.filter((span) => span.name === 'provider webhook send');
        const projected = found.some((span) => span.service === 'herald-projector');
        return calls.length === 2 && projected ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const names = spans.map((span) => `${span.service}: ${span.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'herald-ingest: POST /v1/messages',
        'herald-ingest: ingest herald.messages.requested',
        'herald-sender: sender herald.deliveries',
        'herald-sender: provider webhook send',
        'herald-projector: projector herald.message-events',
      ]),
    );
    // The two attempts, as the provider answered them.
    const calls = spans.filter((span) => span.name === 'provider webhook send');
    expect(
      calls
        .map((span) => [span.attributes['herald.attempt'], span.attributes['herald.outcome']])
        .sort(),
    ).toEqual([
      [1, 'retryable'],
      [2, 'ok'],
    ]);
    // One tree: every span but the POST has its parent in the trace.
    const ids = new Set(spans.map((span) => span.spanId));
    const roots = spans.filter((span) => !ids.has(span.parentSpanId));
    expect(roots.map((span) => span.name)).toEqual(['POST /v1/messages']);
    // The call of the second attempt descends from the retry's hops through the delay tiers
    // (which tiers depends on how much of the 1 s was left when it was scheduled).
    const parentOf = new Map(spans.map((span) => [span.spanId, span.parentSpanId]));
    const nameOf = new Map(spans.map((span) => [span.spanId, span.name]));
    const second = calls.find((span) => span.attributes['herald.attempt'] === 2)!;
    const ancestors: string[] = [];
    for (let at = parentOf.get(second.spanId); at; at = parentOf.get(at)) {
      ancestors.push(nameOf.get(at)!);
    }
    expect(ancestors.filter((name) => /^delay (250ms|1s)$/.test(name)).length).toBeGreaterThan(0);
    expect(ancestors.at(-1)).toBe('POST /v1/messages');
  });

  it('traces status checks as provider calls of the same trace', async () => {
    const messageId = `tracing-sms-${run}`;
    const number = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    await herald.script(number, { status: 'delivered-after-1500' });
    await herald.send(messageId, number, {
      channel: 'sms',
      provider: 'twilio',
      content: { text: 'code 42' },
    });
    const spans = await waitFor(
      `a status check span of ${messageId}`,
      () => {
        const found = traceOf(messageId);
        return found.some((span) => span.name === 'provider twilio status') ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const check = spans.find((span) => span.name === 'provider twilio status')!;
    expect(check).toMatchObject({
      service: 'herald-status-checker',
      attributes: expect.objectContaining({
        'herald.message_id': messageId,
        'herald.provider': 'twilio',
      }),
    });
    // Nothing a span says is the message's content or recipient.
    for (const span of spans) {
      expect(JSON.stringify(span.attributes)).not.toContain('code 42');
      expect(JSON.stringify(span.attributes)).not.toContain(number);
    }
  });
});
