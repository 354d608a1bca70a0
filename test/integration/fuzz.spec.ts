import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { CHANNELS, DELIVERY_STATUSES, type MessageRequested } from '@herald/messages';
import { readToEnd } from '@herald/kafka';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { bearer, outputTail, waitFor } from '@tools/harness';
import { Herald } from '../support/herald';
import { connectTestClients, type TestClients } from '../support/kafka-clients';

/**
 * A bounded, seeded fuzz of the contract's "Limits and hostile input": about 1,400 generated
 * hostile HTTP requests (ingest and the read API) and 600 hostile Kafka records, after which
 * no API has answered 5xx, nothing stalled, and good messages sent both ways are delivered.
 *
 * The cases are generated from HERALD_FUZZ_SEED (a fixed default, so every run sends the same
 * shapes; set another to explore). Every failure message names the seed and the case index.
 * Ids carry a per-run tag, so that a rerun against the same servers is not swallowed by
 * deduplication; the tag never changes a case's shape or what it expects.
 */

const SEED = Number.parseInt(process.env.HERALD_FUZZ_SEED ?? '', 10) || 0x48524c44;
const run = randomUUID().slice(0, 8);
/** How many requests to ingest are in flight at once: enough to overlap, few enough for 2 cores. */
const IN_FLIGHT = 16;
/**
 * Reads are fewer at once: on FerretDB every query is a full scan run one after another, so more
 * in flight only lengthens each wait (past the timeout below, on a busy machine).
 */
const READS_IN_FLIGHT = 4;
/** An answer slower than this counts as none: a hang is a finding too. */
const ANSWER_TIMEOUT_MS = 30_000;

/** mulberry32: 32 bits of state, tiny, and the same sequence for a seed on every machine. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [0, max). */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
  ascii(length: number): string {
    return String.fromCharCode(...Array.from({ length }, () => 0x20 + this.int(95)));
  }
}

// Hostile text. Control characters are built from their codes: a literal one in the source
// would be invisible to a reader (and ESLint refuses them in regular expressions).
const ch = (code: number) => String.fromCharCode(code);
const NUL = ch(0);
/** C0 (not the whitespace that trimming removes), DEL and C1. */
const CONTROLS = [0x00, 0x01, 0x07, 0x08, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9f].map(ch);
const LONE_SURROGATES = [0xd800, 0xdbff, 0xdc00, 0xdfff].map(ch);
/** Printable, but unusual: bidi override, zero-width space, emoji, combining mark, astral. */
const ODD = ['\u202e', '\u200b', '\u{1f600}', 'e\u0301', '\u2028', '\ufffd', '\u{1d573}', '\u03a9'];
/**
 * Printable and beyond ASCII: the odd characters the fuzz puts in ids, Latin-1 and beyond. Every
 * provider call carries the id in its Idempotency-Key header; an id beyond Latin-1 was accepted
 * and then never delivered, until the header was percent-encoded (idempotencyKey).
 */
const ODD_IDS = [
  '\u00e9',
  '\u00ff',
  '\u00bf',
  '\u00d7',
  '\u00a0x',
  '\u03a9',
  '\u{1f600}',
  '\u65e5\u672c',
];
const WRONG_TYPES: readonly unknown[] = [
  42,
  -1,
  0,
  1.5,
  true,
  false,
  null,
  [],
  ['a'],
  {},
  { a: 'b' },
];
/** Object keys that mean something to JavaScript, MongoDB or a path syntax. */
const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
const QUERY_KEYS = ['$where', '$set', '$ne', 'a.b', '.', '$', 'a[0]', ''];

/** A JSON literal no JavaScript value stringifies to (1e400, -0): spliced in after stringify. */
const raw = (literal: string) => `@@raw:${literal}@@`;
const spliceRaw = (json: string) => json.replace(/"@@raw:(.*?)@@"/g, '$1');

/** An object with `key` as an own property, even `__proto__` (a literal would set the prototype). */
function withKey(target: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return target;
}

function manyKeys(count: number, value = 'v'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/**
 * What an HTTP case may be answered: these statuses; for a 400/403 naming fields, only
 * `fields` (exactly, or a key under one: `content.k`); for a 4xx, this `error` if given.
 */
interface Expect {
  statuses: readonly number[];
  fields?: readonly string[];
  error?: string;
  /** A 202 records the accepted id, to read it back later. */
  accepts?: boolean;
}

interface HttpCase {
  kind: string;
  what: string;
  service: 'ingest' | 'projector';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  expect: Expect;
}

interface ErrorBody {
  error?: unknown;
  message?: unknown;
  problems?: unknown;
}

/** What is wrong with an answer, or null: never 5xx, always Herald's error shape, as expected. */
function judge(answer: Answer, expect: Expect): string | null {
  if (answer.status >= 500) return `a ${answer.status}`;
  if (!expect.statuses.includes(answer.status)) {
    return `status ${answer.status}, expected one of ${expect.statuses.join('/')}`;
  }
  if (answer.status < 400) return null;
  const body = answer.json as ErrorBody | undefined;
  if (typeof body !== 'object' || body === null) return 'an error that is not a JSON object';
  if (typeof body.error !== 'string' || !/^[a-z][a-z_]*$/.test(body.error)) {
    return 'an error without a snake_case `error`';
  }
  if (typeof body.message !== 'string' || body.message === '') {
    return 'an error without a `message`';
  }
  if (expect.error !== undefined && body.error !== expect.error) {
    return `error '${body.error}', expected '${expect.error}'`;
  }
  if (body.problems !== undefined) {
    const problems = body.problems;
    if (
      !Array.isArray(problems) ||
      problems.length === 0 ||
      !problems.every(
        (p: { field?: unknown; problem?: unknown }) =>
          typeof p?.field === 'string' && typeof p?.problem === 'string' && p.problem !== '',
      )
    ) {
      return '`problems` that is not a non-empty list of {field, problem}';
    }
  }
  const named = ['invalid_request', 'invalid_query', 'forbidden'].includes(body.error);
  if (named && expect.fields) {
    const problems = (body.problems ?? []) as { field: string }[];
    if (problems.length === 0) return `a ${body.error} without \`problems\``;
    const fields = expect.fields;
    const names = (field: string) => fields.some((f) => field === f || field.startsWith(`${f}.`));
    // Every case starts from a good request or query: each problem must be one the case made.
    if (!problems.every((p) => names(p.field))) {
      return `problems name ${problems.map((p) => `'${p.field}'`).join(', ')}, expected only ${fields.map((f) => `'${f}'`).join(', ')}`;
    }
  }
  return null;
}

/** Runs `work` over `items`, `width` at a time. */
async function inPool<T>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

const cut = (text: string, max = 400) =>
  text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;

/** Printable for a failure message: control characters and lone surrogates shown as escapes. */
const shown = (text: string) =>
  cut(
    JSON.stringify(text)
      .slice(1, -1)
      .replace(/[\u0080-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
  );

class Histogram {
  private readonly counts = new Map<string, number>();
  private readonly times = new Map<string, { total: number; max: number }>();
  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }
  /** How long one request of `kind` took, for the summary (a slow kind is worth knowing). */
  time(kind: string, ms: number): void {
    const { total, max } = this.times.get(kind) ?? { total: 0, max: 0 };
    this.times.set(kind, { total: total + ms, max: Math.max(max, ms) });
  }
  total(prefix = ''): number {
    let sum = 0;
    for (const [label, count] of this.counts) if (label.startsWith(prefix)) sum += count;
    return sum;
  }
  toString(): string {
    const counts = [...this.counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, count]) => `${label}: ${count}`);
    const times = [...this.times.entries()].map(
      ([kind, { total, max }]) =>
        `${kind}: ${Math.round(total / this.total(`http ${kind} `))} ms mean, ${max} ms max`,
    );
    return [...counts, ...times].join('\n');
  }
}

describe(`a seeded fuzz of hostile input (HERALD_FUZZ_SEED=${SEED})`, () => {
  let herald: Herald;
  let kafka: Kafka;
  let producer: Producer;
  let codec: AvroCodec;
  let clients: TestClients | undefined;
  const histogram = new Histogram();
  /** Ids that ingest accepted over HTTP: each must end `sent` (its recipient is an ok hook). */
  const accepted: string[] = [];
  /** Ids of everything sent, accepted or not, to read back after the run. */
  const fuzzedIds: string[] = [];
  const started = Date.now();
  /** How long each test took, for the summary. */
  const phases: string[] = [];
  let phaseStart = 0;

  beforeAll(async () => {
    herald = await Herald.start({});
    clients = await connectTestClients('herald-test-fuzz', [TOPICS.messagesRequested]);
    ({ kafka, producer, codec } = clients);
  });

  beforeEach(() => {
    phaseStart = Date.now();
  });

  afterEach(() => {
    phases.push(`${expect.getState().currentTestName ?? '?'}: ${Date.now() - phaseStart} ms`);
  });

  afterAll(async () => {
    await clients?.close();
    await herald?.stop();
    console.log(
      `fuzz seed ${SEED}, run ${run}: ${histogram.total('http ')} HTTP requests, ` +
        `${histogram.total('kafka ')} Kafka records in ${Date.now() - started} ms\n` +
        `${phases.join('\n')}\n${histogram}`,
    );
  });

  /** The service errors logged so far: every 500 of the error filter is logged with its stack. */
  function loggedErrors(): string[] {
    return herald.services.flatMap((service) =>
      service
        .output()
        .split('\n')
        .filter((line) => /unhandled error|UnhandledPromiseRejection|uncaught/i.test(line))
        .map((line) => `${service.name}: ${cut(line, 2000)}`),
    );
  }

  async function send(c: HttpCase): Promise<Answer> {
    const port = herald.service(c.service).port;
    const response = await fetch(`http://127.0.0.1:${port}${c.path}`, {
      method: c.method,
      headers: c.headers,
      body: c.body,
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  /** Sends every case, `width` at a time; returns a line per failed case. */
  async function fire(
    cases: readonly HttpCase[],
    offset: number,
    width: number,
  ): Promise<string[]> {
    const failures: string[] = [];
    await inPool(cases, width, async (c, index) => {
      let answer: Answer;
      const sentAt = Date.now();
      try {
        answer = await send(c);
        histogram.time(c.kind, Date.now() - sentAt);
      } catch (error) {
        histogram.add(`http ${c.kind} no answer`);
        failures.push(describeCase(c, offset + index, `no answer: ${(error as Error).message}`));
        return;
      }
      histogram.add(`http ${c.kind} ${answer.status}`);
      const problem = judge(answer, c.expect);
      if (problem) {
        failures.push(describeCase(c, offset + index, `${problem}: ${cut(answer.text)}`));
      } else if (answer.status === 202 && c.expect.accepts) {
        const { messageId, status } = (answer.json ?? {}) as {
          messageId?: unknown;
          status?: unknown;
        };
        if (typeof messageId !== 'string' || status !== 'accepted') {
          failures.push(
            describeCase(c, offset + index, `202 without {messageId, status}: ${answer.text}`),
          );
        } else {
          accepted.push(messageId);
        }
      }
    });
    return failures;
  }

  function describeCase(c: HttpCase, index: number, problem: string): string {
    const body =
      c.body === undefined ? '' : typeof c.body === 'string' ? c.body : c.body.toString('latin1');
    return (
      `seed ${SEED} case #${index} (${c.kind}: ${c.what}): ${c.method} ${shown(c.path)} ` +
      `${JSON.stringify(c.headers['content-type'] ?? '')} ${shown(body)} -> ${problem}`
    );
  }

  function report(failures: readonly string[]): string {
    const errors = loggedErrors();
    return [
      `${failures.length} failures (seed ${SEED}); the first ones:`,
      ...failures.slice(0, 25),
      ...(errors.length > 0 ? ['errors the services logged:', ...errors.slice(0, 10)] : []),
    ].join('\n');
  }

  // ---------------------------------------------------------------------------------------------
  // POST /v1/messages

  /** A mutation of one field of a good request: its value, and whether it is surely refused. */
  interface Mutation {
    what: string;
    apply: (body: Record<string, unknown>) => void;
    /** The fields a refusal may name (a wrong channel is reported on the provider, say). */
    fields: string[];
    /** 'bad': must be refused; 'maybe': may be accepted; 'tenant': refused with 403. */
    verdict: 'bad' | 'maybe' | 'tenant';
  }

  function ingestMutations(rng: Rng, id: string): Mutation[] {
    // A value may be a thunk, so the big ones are built only for the mutations chosen.
    const set =
      (field: string, value: unknown) =>
      (body: Record<string, unknown>): void => {
        withKey(body, field, typeof value === 'function' ? (value as () => unknown)() : value);
      };
    const bad = (field: string, what: string, value: unknown, fields = [field]): Mutation => ({
      what: `${field} ${what}`,
      apply: set(field, value),
      fields,
      verdict: 'bad',
    });
    const maybe = (field: string, what: string, value: unknown): Mutation => ({
      what: `${field} ${what}`,
      apply: set(field, value),
      fields: [field],
      verdict: 'maybe',
    });
    const control = rng.pick(CONTROLS);
    const lone = rng.pick(LONE_SURROGATES);
    const odd = rng.pick(ODD);
    const wrong = rng.pick(WRONG_TYPES);
    const hook = herald.hook('ok', id);
    const hookBase = hook.slice(0, hook.indexOf('/hooks/'));
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const mapOf = (field: 'content' | 'metadata'): Mutation[] => {
      const key = rng.pick([...SPECIAL_KEYS, ...QUERY_KEYS]);
      return [
        bad(field, 'wrong type', rng.pick([42, 'text', [], ['a'], true, null])),
        bad(field, 'a number value', { k: rng.pick([1, 0, -1, 1.5]) }, [field]),
        bad(field, 'an object value', { k: { nested: 'x' } }),
        bad(field, 'an array value', { k: ['x', { y: 'z' }] }),
        bad(field, 'a null value', { k: null }),
        bad(field, 'a deeply nested value', () => ({
          k: raw(`${'['.repeat(5000)}${']'.repeat(5000)}`),
        })),
        bad(field, '65 keys', () => manyKeys(65)),
        bad(field, 'hundreds of keys', () => manyKeys(300 + rng.int(2000))),
        bad(field, 'a key of 256 characters', { ['k'.repeat(256)]: 'v' }),
        maybe(field, `a '${key}' key`, withKey({ text: 'hi' }, key, 'x')),
        maybe(field, 'keys with control characters', withKey({}, `a${control}b`, 'v')),
        maybe(field, 'values with control characters', { text: `a${control}b${NUL}` }),
        maybe(field, 'values with lone surrogates', { text: `a${lone}b` }),
        maybe(field, 'odd printable text', { [odd]: odd }),
        maybe(field, 'exactly 64 keys', () => manyKeys(64, 'x'.repeat(rng.int(50)))),
        // Big, but not too big: accepted metadata stays in the read model, where every list
        // query on FerretDB scans it again.
        maybe(field, 'a big value', () => ({
          text: 'x'.repeat(field === 'content' ? 100 * 1024 : 8 * 1024),
        })),
        maybe(field, 'empty', {}),
      ];
    };
    return [
      // messageId: 1–255 printable characters after trimming.
      bad('messageId', 'empty', ''),
      bad('messageId', 'blank', '   '),
      bad('messageId', 'of 256 characters', 'x'.repeat(256)),
      bad('messageId', 'with a control character', `${id}${control}x`),
      bad('messageId', 'with a lone surrogate', `${id}${lone}x`),
      bad('messageId', 'of a wrong type', wrong),
      maybe('messageId', 'with odd printable characters', `${id}${rng.pick(ODD_IDS)}`),
      maybe('messageId', 'padded with spaces', `  ${id}  `),
      maybe('messageId', 'of 255 characters', `${id}-`.padEnd(255, 'x')),
      // tenantId: the key's, or absent; anything else is another tenant's (403).
      ...['other-tenant', 'DEFAULT', '', `default${NUL}`, 42, {}, [], true].map(
        (value): Mutation => ({
          what: `tenantId ${shown(JSON.stringify(value))}`,
          apply: set('tenantId', value),
          fields: ['tenantId'],
          verdict: 'tenant',
        }),
      ),
      maybe('tenantId', 'the key’s own', 'default'),
      maybe('tenantId', 'null', null),
      // channel: one of six.
      bad(
        'channel',
        'unknown',
        rng.pick(['EMAIL', '', ' webhook', `webhook${NUL}`, 'toString', '__proto__']),
      ),
      bad('channel', 'of a wrong type', wrong),
      bad(
        'channel',
        'another channel than the provider’s',
        rng.pick(CHANNELS.filter((c) => c !== 'webhook')),
        ['channel', 'provider', 'recipient'],
      ),
      // provider: 1–100 characters, configured for the channel.
      bad(
        'provider',
        'unknown',
        rng.pick(['', '   ', 'nope', 'sendgrid', 'Webhook', `webhook${NUL}`]),
      ),
      bad('provider', 'of 101 characters', 'p'.repeat(101)),
      bad('provider', 'of a wrong type', wrong),
      maybe('provider', 'padded with spaces', ' webhook '),
      // recipient: an http(s) URL for a webhook. Every URL here is on 127.0.0.1.
      bad(
        'recipient',
        'not a URL',
        rng.pick(['', '  ', 'not a url', 'javascript:alert(1)', 'mailto:a@127.0.0.1']),
      ),
      bad(
        'recipient',
        'not an http URL',
        rng.pick([
          'ftp://127.0.0.1/x',
          'file:///etc/passwd',
          '//127.0.0.1/x',
          'http://',
          'http://[::1',
        ]),
      ),
      bad('recipient', 'of 2049 characters', `${hook}?q=`.padEnd(2049, 'a')),
      bad('recipient', 'of a wrong type', wrong),
      maybe('recipient', 'with credentials in its query', `${hook}?token=abc&api_key=def&x=%00`),
      maybe(
        'recipient',
        'with userinfo',
        hookBase.replace('http://', 'http://user:secret@') + `/hooks/ok/${id}`,
      ),
      maybe('recipient', 'with control characters', `${hook}${control}${NUL}`),
      maybe('recipient', 'with odd characters and a fragment', `${hook}/${odd}#frag${odd}`),
      // content and metadata: objects of string values, at most 64 keys of at most 255.
      ...mapOf('content'),
      {
        what: 'content missing',
        apply: (body) => {
          delete body.content;
        },
        fields: ['content'],
        verdict: 'bad',
      },
      ...mapOf('metadata'),
      // retryPolicy: null or a known policy.
      bad('retryPolicy', 'unknown', rng.pick(['', '  ', 'nope', `knock${NUL}`, 'p'.repeat(101)])),
      bad('retryPolicy', 'of a wrong type', rng.pick([42, {}, [], true])),
      maybe('retryPolicy', 'known', rng.pick([null, 'knock', 'webhook', 'courier', ' knock '])),
      // requestedAt: epoch ms or ISO-8601, within the last 30 days and a day ahead.
      ...[
        8.7e15,
        -1,
        0,
        1.5,
        1e308,
        -1e308,
        now - 31 * day,
        now + 2 * day,
        raw('-0'),
        raw('1e400'),
        raw('-1e400'),
        raw('9007199254740993'),
        '2024-13-45T00:00:00Z',
        '1970-01-01T00:00:00Z',
        '+275760-09-13T00:00:00.000Z',
        'NaN',
        'Infinity',
        'now',
        '',
        String(now),
        true,
        null,
        [],
        {},
      ].map((value) => bad('requestedAt', shown(JSON.stringify(value)), value)),
      maybe('requestedAt', 'a second ago', now - 1000),
      maybe('requestedAt', 'now in ISO-8601', new Date(now).toISOString()),
      maybe('requestedAt', 'with an offset', new Date(now).toISOString().replace('Z', '+00:00')),
      // Fields MessageRequested does not have, some of them meaningful to JavaScript or MongoDB.
      ...[...SPECIAL_KEYS, ...QUERY_KEYS, 'id', 'status', 'messageID', 'content ', `x${NUL}`].map(
        (key) => bad(key, 'as an unknown field', rng.pick(['x', 1, null, {}, { $gt: '' }])),
      ),
    ];
  }

  function ingestCases(rng: Rng, count: number): HttpCase[] {
    const cases: HttpCase[] = [];
    const json = { 'content-type': 'application/json', ...bearer(herald.key.key) };
    const caseOf = (
      what: string,
      body: string | Buffer | undefined,
      expect: Expect,
      headers: Record<string, string> = json,
    ): HttpCase => ({
      kind: 'ingest',
      what,
      service: 'ingest',
      method: 'POST',
      path: '/v1/messages',
      headers,
      body,
      expect,
    });
    const good = (id: string) => ({
      messageId: id,
      channel: 'webhook',
      provider: 'webhook',
      recipient: herald.hook('ok', id),
      content: { body: 'hi' },
    });
    const invalidJson: Expect = { statuses: [400], error: 'invalid_json' };
    const refused: Expect = { statuses: [400] };

    // Bodies that are not a request at all.
    const malformed = [
      '{"channel": ',
      '{',
      '}',
      '{"a":1,}',
      "{'a':1}",
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":1}garbage',
      '{"a":"b\u0000"}'.replace('\u0000', NUL),
      'nul\u0000l',
      ']',
      '{"a":"\\ud800\\u"}',
    ];
    for (const body of malformed)
      cases.push(caseOf(`malformed JSON ${shown(body)}`, body, invalidJson));
    for (const body of ['null', 'true', '42', '"text"', '[]', '[1,2]', '[{}]', '{}', '', ' ']) {
      cases.push(caseOf(`not a request object: ${JSON.stringify(body)}`, body, refused));
    }
    cases.push(
      caseOf('a deeply nested array', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, refused),
    );
    cases.push(
      caseOf('a deeply nested object', `${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}`, refused),
    );
    for (const size of [300 * 1024, 1024 * 1024]) {
      const id = `fuzz-${run}-big-${size}`;
      const body = JSON.stringify({ ...good(id), content: { body: 'x'.repeat(size) } });
      cases.push(
        caseOf(`a body of ${size} bytes`, body, { statuses: [413], error: 'payload_too_large' }),
      );
    }
    // The body in other types and encodings: refused, or parsed as what it says it is.
    const id = () => `fuzz-${run}-${cases.length}`;
    const media = (contentType: string, body: string | Buffer, expect: Expect) =>
      cases.push(
        caseOf(`content-type ${contentType}`, body, expect, {
          'content-type': contentType,
          ...bearer(herald.key.key),
        }),
      );
    const anyAnswer: Expect = { statuses: [202, 400, 415], accepts: true };
    media('text/plain', JSON.stringify(good(id())), { statuses: [400, 415] });
    media('application/xml', '<message/>', { statuses: [400, 415] });
    media('multipart/form-data; boundary=x', '--x\r\n\r\n--x--', { statuses: [400, 415] });
    media('application/vnd.api+json', JSON.stringify(good(id())), { statuses: [400, 415] });
    media('application/json; charset=latin1', JSON.stringify(good(id())), {
      statuses: [415],
      error: 'unsupported_media_type',
    });
    media('application/json; charset=nope', JSON.stringify(good(id())), {
      statuses: [415],
      error: 'unsupported_media_type',
    });
    media('application/json; charset=utf-16', JSON.stringify(good(id())), { statuses: [400, 415] });
    media(
      'application/json',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(good(id())))]),
      anyAnswer,
    );
    media(
      'application/json',
      Buffer.from(JSON.stringify(good(id())).replace('"hi"', '"h\u00ffi"'), 'latin1'),
      anyAnswer,
    );
    media('application/json', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), refused);
    media(
      'application/x-www-form-urlencoded',
      new URLSearchParams({ ...good(id()), content: 'hi' }).toString(),
      { statuses: [400, 415] },
    );
    media(
      'application/x-www-form-urlencoded',
      `messageId=${id()}&channel=webhook&provider=webhook&recipient=${encodeURIComponent(herald.hook('ok', id()))}&content[body]=hi`,
      anyAnswer,
    );
    for (const encoding of ['gzip', 'deflate', 'br', 'x-nope', 'gzip, gzip']) {
      cases.push(
        caseOf(
          `content-encoding ${encoding} that is not`,
          JSON.stringify(good(id())),
          { statuses: [400, 415] },
          {
            ...json,
            'content-encoding': encoding,
          },
        ),
      );
    }
    const noBody = { ...bearer(herald.key.key) };
    cases.push(caseOf('no content-type and no body', undefined, refused, noBody));
    cases.push(
      caseOf(
        'no content-type',
        Buffer.from(JSON.stringify(good(id()))),
        { statuses: [400, 415] },
        noBody,
      ),
    );
    // Keys that are missing, malformed or of another scheme.
    const unauthorized: Expect = { statuses: [401], error: 'unauthorized' };
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer hk_sk_${'A'.repeat(43)}`,
      `Bearer ${herald.key.key}x`,
      `Bearer ${herald.key.key.slice(0, -1)}`,
      `Basic ${Buffer.from('default:x').toString('base64')}`,
      `Bearer ${herald.key.key} ${herald.key.key}`,
      `Token ${herald.key.key}`,
      'Bearer %00',
    ]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization !== undefined) headers.authorization = authorization;
      cases.push(
        caseOf(
          `authorization ${JSON.stringify(authorization)}`,
          JSON.stringify(good(id())),
          unauthorized,
          headers,
        ),
      );
    }
    // The rest: good requests with one to three fields made hostile.
    while (cases.length < count) {
      const messageId = `fuzz-${run}-${cases.length}`;
      const body: Record<string, unknown> = good(messageId);
      const all = ingestMutations(rng, messageId);
      const chosen: Mutation[] = [];
      const wanted = 1 + (rng.chance(0.35) ? 1 : 0) + (rng.chance(0.15) ? 1 : 0);
      while (chosen.length < wanted) {
        const mutation = rng.pick(all);
        // Each field is mutated once, so a mutation's verdict is not undone by another's.
        if (!chosen.some((m) => m.fields[0] === mutation.fields[0])) chosen.push(mutation);
      }
      for (const mutation of chosen) mutation.apply(body);
      const text = spliceRaw(JSON.stringify(body));
      const fields = chosen.flatMap((m) => m.fields);
      let expect: Expect;
      if (Buffer.byteLength(text) > 256 * 1024) {
        expect = { statuses: [413], error: 'payload_too_large' };
      } else if (chosen.some((m) => m.verdict === 'tenant')) {
        expect = { statuses: [403], error: 'forbidden', fields: ['tenantId'] };
      } else if (chosen.some((m) => m.verdict === 'bad')) {
        expect = { statuses: [400], error: 'invalid_request', fields };
      } else {
        expect = { statuses: [202, 400], fields, accepts: true };
      }
      fuzzedIds.push(messageId);
      cases.push(caseOf(chosen.map((m) => m.what).join('; '), text, expect));
    }
    return cases;
  }

  // ---------------------------------------------------------------------------------------------
  // The read API

  /** Path segments: ordinary, percent-encoded junk, and ones a router or a store may misread. */
  function pathSegment(rng: Rng): string {
    const known =
      accepted.length > 0 && rng.chance(0.2) ? encodeURIComponent(rng.pick(accepted)) : undefined;
    return (
      known ??
      rng.pick([
        () => encodeURIComponent(rng.ascii(1 + rng.int(40))),
        () => encodeURIComponent(`fuzz-${run}-${rng.int(2000)}`),
        () =>
          rng.pick([
            '%00',
            'a%00b',
            `fuzz-${run}-1%00`,
            '%01',
            '%1F',
            '%7F',
            '%C2%80',
            '%C2%9F',
            '%09',
            '%0A',
            '%0D',
          ]),
        () =>
          rng.pick([
            '%FF',
            '%C0%AF',
            '%ED%A0%80',
            '%ED%BF%BF',
            '%',
            '%%',
            '%zz',
            '%E2%82',
            '%F4%90%80%80',
          ]),
        () =>
          rng.pick([
            '%2e%2e',
            '..%2F..%2Fetc%2Fpasswd',
            '%2F',
            '%5C',
            '%3F',
            '%23',
            '%20',
            '%E2%80%AE',
            '%EF%BF%BF',
          ]),
        () =>
          encodeURIComponent(
            rng.pick([...SPECIAL_KEYS, ...QUERY_KEYS.filter((k) => k !== ''), '{"$ne":null}']),
          ),
        () => encodeURIComponent(rng.pick(ODD).repeat(1 + rng.int(5))),
        () => 'x'.repeat(2000 + rng.int(4000)),
      ])()
    );
  }

  /** A cursor in the issued format (base64url JSON of [createdAt, id]) that may hold anything. */
  const craftedCursor = (value: unknown) =>
    Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

  function queryValue(rng: Rng, name: string): string {
    const junk = () =>
      rng.pick([
        '',
        '%00',
        'a%00b',
        '%FF',
        '%',
        '%zz',
        '%C0%80',
        '%ED%A0%80',
        '+',
        '%2B',
        '%26',
        '[object Object]',
        encodeURIComponent(rng.ascii(1 + rng.int(30))),
        'x'.repeat(2049),
        encodeURIComponent('{"$ne":null}'),
        encodeURIComponent(rng.pick(ODD)),
      ]);
    switch (name) {
      case 'status':
        return rng.chance(0.5) ? rng.pick(DELIVERY_STATUSES) : junk();
      case 'channel':
        return rng.chance(0.5) ? rng.pick(CHANNELS) : junk();
      case 'provider':
        return rng.chance(0.3) ? 'webhook' : junk();
      case 'recipient':
        return rng.chance(0.3)
          ? encodeURIComponent(herald.hook('ok', `fuzz-${run}-${rng.int(900)}`))
          : junk();
      case 'limit':
        return rng.pick([
          '0',
          '1',
          '20',
          '100',
          '101',
          '-1',
          '1.5',
          '1e2',
          '0x10',
          '%205',
          '5%20',
          '00005',
          '99999',
          'NaN',
          'Infinity',
          '',
          '%00',
          ...(rng.chance(0.3) ? [junk()] : []),
        ]);
      case 'cursor':
        return rng.pick([
          junk,
          () => craftedCursor([Date.now(), `fuzz-${run}-1`]),
          () =>
            craftedCursor([rng.pick([0, -1, Number.MAX_SAFE_INTEGER, 1.5, 1e20, '1', null]), 'x']),
          () =>
            craftedCursor([
              Date.now(),
              rng.pick([
                '',
                `a${NUL}b`,
                NUL,
                `a${rng.pick(CONTROLS)}`,
                'x'.repeat(3000),
                42,
                { $ne: null },
                ['x'],
              ]),
            ]),
          () =>
            craftedCursor(
              rng.pick([[], [1], [1, 'x', 3], {}, null, 'text', { createdAt: 1, id: 'x' }]),
            ),
          () => `${craftedCursor([Date.now(), 'x'])}=`,
          () => 'A'.repeat(5000),
        ])();
      default:
        return junk();
    }
  }

  function readCases(rng: Rng, count: number): HttpCase[] {
    const cases: HttpCase[] = [];
    const key = bearer(herald.key.key);
    const get = (
      kind: string,
      what: string,
      path: string,
      expect: Expect,
      headers: Record<string, string> = key,
    ): HttpCase => ({
      kind,
      what,
      service: 'projector',
      method: 'GET',
      path,
      headers,
      expect,
    });
    const listParams = ['status', 'channel', 'provider', 'recipient', 'limit', 'cursor'];
    const oddParams = [
      'foo',
      'status[$ne]',
      'limit[]',
      'cursor[0]',
      'recipient[$regex]',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '$where',
      'a.b',
      '',
      '%00',
      '%FF',
    ];
    const queryOf = (params: readonly string[]) => {
      const parts: string[] = [];
      const names: string[] = [];
      for (let i = 0, n = rng.int(5); i < n; i += 1) {
        const name = rng.chance(0.75) ? rng.pick(params) : rng.pick(oddParams);
        names.push(name);
        parts.push(`${name}=${queryValue(rng, name)}`);
        // The same parameter twice: refused by name, never an array handed to the store.
        if (rng.chance(0.08)) parts.push(`${name}=${queryValue(rng, name)}`);
      }
      if (rng.chance(0.05)) parts.push(rng.pick(['&&', '=', '==', '&=&', 'status', 'limit']));
      // Half the queries also break a rule for sure: validation is what most cases are for, and a
      // refused query costs the store nothing, while every page it serves is a full scan.
      if (rng.chance(0.5)) {
        const name = rng.pick(params);
        names.push(name);
        parts.push(rng.pick([`${name}=a&${name}=b`, `${name}=${'x'.repeat(2049)}`]));
      }
      return { query: parts.length > 0 ? `?${parts.join('&')}` : '', names };
    };
    // A 400 may name only the parameters the query gave (unknown ones are ignored).
    const given = (names: readonly string[], known: readonly string[]) =>
      known.filter((name) => names.includes(name));
    const messagePaths: Expect = { statuses: [200, 400, 404] };
    while (cases.length < count) {
      const choice = rng.int(100);
      if (choice < 30) {
        const { query, names } = queryOf(listParams);
        const listed: Expect = { statuses: [200, 400], fields: given(names, listParams) };
        cases.push(get('list', 'the list with a hostile query', `/v1/messages${query}`, listed));
      } else if (choice < 70) {
        const suffix = rng.pick([
          '',
          '',
          '/events',
          '/logs',
          '/',
          '/events/',
          '/events/extra',
          '/logs/..',
          '?limit=%00',
        ]);
        cases.push(
          get(
            'message',
            'a message path',
            `/v1/messages/${pathSegment(rng)}${suffix}`,
            messagePaths,
          ),
        );
      } else if (choice < 90) {
        const { query, names } = queryOf(['cursor', 'limit']);
        // 404 too: a segment like %2e%2e is a dot segment, which the client resolves away.
        const feed: Expect = {
          statuses: [200, 400, 404],
          fields: given(names, ['cursor', 'limit']),
        };
        cases.push(get('feed', 'a feed', `/v1/recipients/${pathSegment(rng)}/feed${query}`, feed));
      } else if (choice < 95) {
        const expiresIn = rng.pick<unknown>([
          1,
          60,
          86400,
          0,
          -1,
          86401,
          1.5,
          '60',
          null,
          [],
          {},
          1e308,
          raw('1e400'),
          raw('-0'),
          undefined,
        ]);
        const body = rng.chance(0.1)
          ? rng.pick(['{', 'null', '[]', '"x"'])
          : spliceRaw(JSON.stringify(expiresIn === undefined ? {} : { expiresIn }));
        cases.push({
          kind: 'token',
          what: `a recipient token, expiresIn ${body}`,
          service: 'projector',
          method: 'POST',
          path: `/v1/recipients/${pathSegment(rng)}/tokens`,
          headers: { 'content-type': 'application/json', ...key },
          body,
          expect: { statuses: [201, 400, 404], fields: ['expiresIn'] },
        });
      } else {
        const path = rng.pick([
          '/',
          '/v1',
          '/v1/',
          '/v1/messages/a/b/c',
          '/v1/recipients',
          '/v1/recipients//feed',
          '/%00',
          '/v1/%2e%2e/health/live',
          '/v1/messages%00',
          '/V1/MESSAGES',
          '/health/ready?x=%00',
          '/v1/messages?' + 'a=1&'.repeat(2000),
        ]);
        const method = rng.pick(['GET', 'GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS']);
        const auth = rng.pick<Record<string, string>>([
          key,
          {},
          { authorization: 'Bearer x' },
          { authorization: `Basic ${'x'.repeat(100)}` },
        ]);
        cases.push({
          ...get(
            'route',
            `${method} an odd route`,
            path,
            { statuses: [200, 204, 400, 401, 403, 404, 405] },
            auth,
          ),
          method,
        });
      }
    }
    return cases;
  }

  it('answers every hostile request to ingest and the read API in its error shape, never 5xx', async () => {
    const rng = new Rng(SEED);
    // The read cases come second, so some of them read the messages the ingest cases made.
    const ingest = ingestCases(rng, 900);
    const failures = await fire(ingest, 0, IN_FLIGHT);
    // Sorted, so the read cases that pick from them depend on the seed, not on answer order.
    accepted.sort();
    const reads = readCases(rng, 500);
    failures.push(...(await fire(reads, ingest.length, READS_IN_FLIGHT)));
    expect(histogram.total('http ')).toBe(ingest.length + reads.length);
    // The fuzz must have exercised both outcomes of ingest, not refused everything.
    expect(accepted.length).toBeGreaterThan(50);
    expect(histogram.total('http ingest 400')).toBeGreaterThan(300);
    if (failures.length > 0 || loggedErrors().length > 0) throw new Error(report(failures));
    // About 30 s on an idle machine; the margin is for one shared with other test runs.
  }, 240_000);

  // ---------------------------------------------------------------------------------------------
  // herald.messages.requested

  type KafkaExpect =
    | { kind: 'final'; messageId: string; status: 'sent' | 'not_sent'; code?: string }
    | { kind: 'dead-letter'; reason: RegExp }
    | { kind: 'any' };

  interface KafkaCase {
    category: string;
    what: string;
    key: string;
    value: Buffer | null;
    partition: number;
    expect: KafkaExpect;
  }

  const REQUESTED = TOPICS.messagesRequested;
  const FINAL = ['sent', 'delivered', 'undelivered', 'bounced', 'not_sent'];

  function goodRecord(messageId: string): MessageRequested {
    return {
      messageId,
      tenantId: herald.key.tenantId,
      channel: 'webhook',
      provider: 'webhook',
      providers: [],
      recipient: herald.hook('ok', messageId),
      content: { body: 'hi' },
      retryPolicy: null,
      metadata: {},
      requestedAt: Date.now(),
    };
  }

  async function kafkaCases(rng: Rng, count: number): Promise<KafkaCase[]> {
    const cases: KafkaCase[] = [];
    const encode = (record: MessageRequested) => codec.encode(REQUESTED.name, record);
    const add = (category: string, what: string, value: Buffer | null, expect: KafkaExpect) =>
      cases.push({
        category,
        what,
        key: `fuzz-${run}-k${cases.length}`,
        value,
        // Round robin, so every partition gets its share and must still deliver afterwards.
        partition: cases.length % REQUESTED.partitions,
        expect,
      });
    const day = 24 * 60 * 60 * 1000;
    while (cases.length < count) {
      const messageId = `fuzz-${run}-kafka-${cases.length}`;
      const record = goodRecord(messageId);
      const control = rng.pick(CONTROLS);
      // Mostly bytes and unidentifiable records, which leave nothing in the read model: every
      // message there is scanned again by each later query on FerretDB, this suite's and others'.
      const choice = rng.int(100);
      if (choice < 10) {
        // Odd but within bounds: delivered, whatever the keys and values hold.
        const key = rng.pick([...SPECIAL_KEYS, ...QUERY_KEYS]);
        const odd = rng.pick(ODD);
        const variant = rng.pick([
          () => [
            'content keys',
            Object.assign(record, { content: withKey({ body: 'hi' }, key, 'x') }),
          ],
          () => [
            'metadata keys',
            Object.assign(record, { metadata: withKey({ a: 'b' }, key, 'x') }),
          ],
          () => [
            'control characters in values',
            Object.assign(record, {
              content: { body: `a${control}${NUL}` },
              metadata: { m: `${NUL}${control}` },
            }),
          ],
          () => [
            'lone surrogates in values',
            Object.assign(record, {
              content: { body: rng.pick(LONE_SURROGATES) },
              metadata: { [rng.pick(LONE_SURROGATES)]: 'v' },
            }),
          ],
          () => [
            'odd printable ids and keys',
            Object.assign(record, {
              messageId: `${messageId}${rng.pick(ODD_IDS)}`,
              metadata: { [odd]: odd },
            }),
          ],
          () => [
            '64 metadata keys of 255 characters',
            Object.assign(record, {
              metadata: Object.fromEntries(
                Array.from({ length: 64 }, (_, i) => [`${i}`.padEnd(255, 'k'), 'v']),
              ),
            }),
          ],
          () => [
            'a recipient with credentials and NUL',
            Object.assign(record, {
              recipient: `${herald.hook('ok', messageId)}%00?token=secret&x=${NUL}`,
            }),
          ],
          () => [
            'a retry policy by name',
            Object.assign(record, { retryPolicy: rng.pick(['knock', 'webhook', 'courier']) }),
          ],
        ])() as [string, MessageRequested];
        const [what, hostile] = variant;
        add('odd-but-valid', what, await encode(hostile), {
          kind: 'final',
          messageId: hostile.messageId,
          status: 'sent',
        });
      } else if (choice < 27) {
        // Well-formed Avro that breaks a bound or names nothing deliverable: not_sent, with why.
        const fault = rng.pick<[string, Partial<MessageRequested>, string]>([
          [
            'requestedAt far ahead',
            { requestedAt: rng.pick([8.7e15, Number.MAX_SAFE_INTEGER - 1, Date.now() + 2 * day]) },
            'invalid_request',
          ],
          [
            'requestedAt long ago',
            { requestedAt: rng.pick([-1, 0, 1 - Number.MAX_SAFE_INTEGER, Date.now() - 31 * day]) },
            'invalid_request',
          ],
          ['65 content keys', { content: manyKeys(65) }, 'invalid_request'],
          [
            'thousands of content keys',
            { content: manyKeys(1000 + rng.int(4000)) },
            'invalid_request',
          ],
          ['too many metadata keys', { metadata: manyKeys(65 + rng.int(100)) }, 'invalid_request'],
          [
            'a content key of 256 characters',
            { content: { ['k'.repeat(256)]: 'v' } },
            'invalid_request',
          ],
          [
            'an unknown provider',
            { provider: rng.pick(['nope', '', `webhook${NUL}`, 'p'.repeat(100)]) },
            'unknown_provider',
          ],
          [
            'a provider of another channel',
            { channel: rng.pick(CHANNELS.filter((c) => c !== 'webhook')) },
            'unknown_provider',
          ],
          [
            'a recipient that is no URL',
            {
              recipient: rng.pick([
                '',
                'not a url',
                'javascript:x',
                'ftp://127.0.0.1/x',
                'x'.repeat(2048),
              ]),
            },
            'invalid_recipient',
          ],
          [
            'an unknown retry policy',
            { retryPolicy: rng.pick(['nope', '', `knock${NUL}`]) },
            'unknown_retry_policy',
          ],
          // The lengths a POST refuses: a record is held to them too.
          [
            'a provider over 100 characters',
            { provider: 'p'.repeat(101 + rng.int(5000)) },
            'invalid_request',
          ],
          [
            'a retry policy over 100 characters',
            { retryPolicy: 'r'.repeat(101 + rng.int(5000)) },
            'invalid_request',
          ],
          [
            'a recipient URL over 2048 characters',
            {
              recipient: `${herald.hook('ok', messageId)}?q=${'a'.repeat(2048 + rng.int(5000))}`,
            },
            'invalid_request',
          ],
        ]);
        const [what, change, code] = fault;
        add('out-of-bounds', what, await encode({ ...record, ...change }), {
          kind: 'final',
          messageId,
          status: 'not_sent',
          code,
        });
      } else if (choice < 40) {
        // Ids that cannot name a message: dead-lettered with the reason.
        const [field, value] = rng.pick<['messageId' | 'tenantId', string]>([
          ['messageId', `${messageId}${control}x`],
          ['messageId', ''],
          ['messageId', 'm'.repeat(256)],
          ['tenantId', `default${control}`],
          ['tenantId', ''],
          ['tenantId', 't'.repeat(256)],
        ]);
        add(
          'unidentifiable',
          `${field} ${shown(value)}`,
          await encode({ ...record, [field]: value }),
          {
            kind: 'dead-letter',
            reason: new RegExp(`^${field}: `),
          },
        );
      } else {
        // Bytes that are no MessageRequested at all.
        const valid = await encode(record);
        const variant = rng.int(9);
        if (variant === 0) {
          const garbage = rng.bytes(1 + rng.int(200));
          // A leading 0 with a random schema id might name a real schema: then anything goes.
          add(
            'garbage',
            `${garbage.length} random bytes`,
            garbage,
            garbage[0] === 0
              ? { kind: 'any' }
              : { kind: 'dead-letter', reason: /^not in the Confluent wire format/ },
          );
        } else if (variant === 1) {
          add('garbage', 'an empty value', Buffer.alloc(0), {
            kind: 'dead-letter',
            reason: /^empty value$/,
          });
        } else if (variant === 2) {
          add('garbage', 'a null value (a tombstone)', null, {
            kind: 'dead-letter',
            reason: /^empty value$/,
          });
        } else if (variant === 3) {
          const wrong = Buffer.from(valid);
          wrong[0] = 1 + rng.int(255);
          add('garbage', `magic byte ${wrong[0]}`, wrong, {
            kind: 'dead-letter',
            reason: /^not in the Confluent wire format/,
          });
        } else if (variant === 4) {
          const unknown = Buffer.from(valid);
          unknown.writeInt32BE(1_000_000 + rng.int(2_000_000_000), 1);
          add('garbage', `unknown schema id ${unknown.readInt32BE(1)}`, unknown, {
            kind: 'dead-letter',
            reason: /^undecodable Avro/,
          });
        } else if (variant === 5) {
          // A neighbouring id: another topic's schema (not readable as this one) or none.
          const other = Buffer.from(valid);
          other.writeInt32BE(
            Math.max(1, valid.readInt32BE(1) + rng.pick([-3, -2, -1, 1, 2, 3])),
            1,
          );
          add('garbage', `schema id ${other.readInt32BE(1)}`, other, { kind: 'any' });
        } else if (variant === 6) {
          const length = rng.int(valid.length);
          add('garbage', `truncated to ${length} bytes`, valid.subarray(0, length), {
            kind: 'dead-letter',
            reason: length === 0 ? /^empty value$/ : /^undecodable Avro/,
          });
        } else if (variant === 7) {
          add('garbage', 'trailing bytes', Buffer.concat([valid, rng.bytes(1 + rng.int(20))]), {
            kind: 'dead-letter',
            reason: /^undecodable Avro/,
          });
        } else {
          const flipped = Buffer.from(valid);
          for (let i = 0, n = 1 + rng.int(3); i < n; i += 1) {
            const at = 5 + rng.int(flipped.length - 5);
            flipped[at] = (flipped[at] ?? 0) ^ (1 + rng.int(255));
          }
          // Flipped bytes may still decode (as another, odd request): only no stall is asked.
          add('garbage', 'flipped bytes', flipped, { kind: 'any' });
        }
      }
    }
    return cases;
  }

  async function produce(cases: readonly KafkaCase[]): Promise<void> {
    for (let i = 0; i < cases.length; i += 50) {
      await producer.send({
        topic: REQUESTED.name,
        messages: cases
          .slice(i, i + 50)
          .map(({ key, value, partition }) => ({ key, value, partition })),
      });
    }
  }

  /** The dead letters of this run, by key: the reason ingest gave each. */
  async function deadLetters(): Promise<Map<string, string>> {
    const reasons = new Map<string, string>();
    await readToEnd(kafka, TOPICS.deadLetter.name, async (messages) => {
      for (const message of messages) {
        const key = message.key?.toString() ?? '';
        if (key.startsWith(`fuzz-${run}-`)) {
          reasons.set(key, message.headers?.['herald-dlq-reason']?.toString() ?? '');
        }
      }
    });
    return reasons;
  }

  /** Waits for every id's message to reach a final status; the ids that never did are named. */
  async function finalStatuses(ids: readonly string[], timeoutMs: number) {
    const found = new Map<string, { status: string; code: string | null; error: string | null }>();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = ids.filter((id) => !found.has(id));
      await inPool(pending, 8, async (id) => {
        const message = await herald.message(id);
        // A failed attempt settles it too: none of these should fail one, and a retry would
        // only keep the test waiting for the policy's next delay.
        if (message && (FINAL.includes(message.status) || message.lastError !== null)) {
          found.set(id, {
            status: message.status,
            code: message.lastError?.code ?? null,
            error: message.lastError?.message ?? null,
          });
        }
      });
      if (found.size === ids.length || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return { found, missing: ids.filter((id) => !found.has(id)) };
  }

  it('survives hostile records on the requests topic: none stalls a partition, each ends as it should', async () => {
    const rng = new Rng(SEED ^ 0x6b61666b);
    const cases = await kafkaCases(rng, 600);
    await produce(cases);
    // After them, a good record on every partition and a good request over HTTP: all sent, so
    // no partition is stalled behind a hostile record and no consumer has stopped.
    const good = Array.from({ length: REQUESTED.partitions }, (_, partition) => ({
      partition,
      record: goodRecord(`fuzz-${run}-kafka-after-p${partition}`),
    }));
    await producer.send({
      topic: REQUESTED.name,
      messages: await Promise.all(
        good.map(async ({ partition, record }) => ({
          key: record.messageId,
          value: await codec.encode(REQUESTED.name, record),
          partition,
        })),
      ),
    });
    const overHttp = `fuzz-${run}-http-after-kafka`;
    await herald.send(overHttp, herald.hook('ok', overHttp));
    for (const id of [...good.map((g) => g.record.messageId), overHttp]) {
      expect({ id, status: (await herald.final(id)).message.status }).toEqual({
        id,
        status: 'sent',
      });
    }

    const failures: string[] = [];
    const described = (c: KafkaCase, index: number, problem: string) =>
      `seed ${SEED} kafka case #${index} (${c.category}: ${c.what}) on partition ${c.partition} -> ${problem}`;
    const finals = cases.filter((c) => c.expect.kind === 'final');
    const ids = finals.map((c) => (c.expect as { messageId: string }).messageId);
    fuzzedIds.push(...ids);
    const { found, missing } = await finalStatuses(ids, 60_000);
    const letters = await waitFor(
      "this run's dead letters",
      async () => {
        const reasons = await deadLetters();
        const wanted = cases.filter((c) => c.expect.kind === 'dead-letter');
        return wanted.every((c) => reasons.has(c.key)) ? reasons : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    ).catch(() => deadLetters());
    cases.forEach((c, index) => {
      const expected = c.expect;
      if (expected.kind === 'final') {
        const outcome = found.get(expected.messageId);
        histogram.add(`kafka ${c.category} ${outcome?.status ?? 'not final'}`);
        if (!outcome) {
          failures.push(
            described(
              c,
              index,
              `message ${shown(expected.messageId)} never reached a final status (${missing.length} did not)`,
            ),
          );
        } else if (
          outcome.status !== expected.status ||
          (expected.code !== undefined && outcome.code !== expected.code)
        ) {
          failures.push(
            described(
              c,
              index,
              `ended ${outcome.status} (${outcome.code}: ${shown(outcome.error ?? '')}), expected ${expected.status} (${expected.code ?? 'any code'})`,
            ),
          );
        }
      } else if (expected.kind === 'dead-letter') {
        const reason = letters.get(c.key);
        histogram.add(
          `kafka ${c.category} ${reason === undefined ? 'not dead-lettered' : 'dead-lettered'}`,
        );
        if (reason === undefined) failures.push(described(c, index, 'not in herald.dead-letter'));
        else if (!expected.reason.test(reason)) {
          failures.push(
            described(
              c,
              index,
              `dead-lettered because ${shown(reason)}, expected ${expected.reason}`,
            ),
          );
        }
      } else {
        histogram.add(`kafka ${c.category} ${letters.has(c.key) ? 'dead-lettered' : 'processed'}`);
      }
    });
    if (failures.length > 0 || loggedErrors().length > 0) throw new Error(report(failures));
  });

  it('delivers every request ingest accepted (each went to an ok hook)', async () => {
    const { found, missing } = await finalStatuses(accepted, 60_000);
    const undelivered = [...found]
      .filter(([, outcome]) => outcome.status !== 'sent')
      .map(([id, outcome]) => `${shown(id)}: ${outcome.status} (${outcome.error ?? 'no error'})`);
    expect({ seed: SEED, missing, undelivered }).toEqual({
      seed: SEED,
      missing: [],
      undelivered: [],
    });
  });

  it('still answers every API afterwards, and delivers a good message sent each way', async () => {
    const lists = [
      '/v1/messages?limit=100',
      ...DELIVERY_STATUSES.map((status) => `/v1/messages?status=${status}&limit=100`),
    ];
    for (const path of lists) {
      const answer = await herald.api<{ items: unknown[]; nextCursor: string | null }>(path);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      expect(Array.isArray(answer.body.items)).toBe(true);
    }
    // Paging on from the first page's cursor still works.
    const first = await herald.api<{ nextCursor: string | null }>('/v1/messages?limit=5');
    if (first.body.nextCursor) {
      const next = await herald.api(`/v1/messages?limit=5&cursor=${first.body.nextCursor}`);
      expect(next.status).toBe(200);
    }
    const rng = new Rng(SEED ^ 0x61667472);
    const sample = Array.from({ length: 24 }, () => rng.pick(fuzzedIds));
    await inPool(sample, 8, async (id) => {
      for (const suffix of ['', '/events', '/logs']) {
        const answer = await herald.api(`/v1/messages/${encodeURIComponent(id)}${suffix}`);
        expect({ id, suffix, status: [200, 404].includes(answer.status) }).toEqual({
          id,
          suffix,
          status: true,
        });
      }
    });
    for (const service of herald.services) {
      // A service that exited (or stopped consuming) is named with its last output.
      const live = await fetch(`http://127.0.0.1:${service.port}/health/live`).then(
        (response) => String(response.status),
        (error: Error) =>
          `no answer (${error.message}; exit ${service.process.exitCode}): ${outputTail(service, 40)}`,
      );
      expect({ service: service.name, live }).toEqual({ service: service.name, live: '200' });
    }

    const overHttp = `fuzz-${run}-http-last`;
    await herald.send(overHttp, herald.hook('ok', overHttp));
    const overKafka = goodRecord(`fuzz-${run}-kafka-last`);
    await producer.send({
      topic: REQUESTED.name,
      messages: [
        { key: overKafka.messageId, value: await codec.encode(REQUESTED.name, overKafka) },
      ],
    });
    expect((await herald.final(overHttp)).message.status).toBe('sent');
    expect((await herald.final(overKafka.messageId)).message.status).toBe('sent');
    expect(loggedErrors()).toEqual([]);
  });
});
