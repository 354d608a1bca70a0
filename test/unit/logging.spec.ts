import { logLevel } from 'kafkajs';
import {
  formatLogLine,
  jsonLogWriter,
  levelEnabled,
  loadConfig,
  logLevelName,
  redactLogText,
  type LogEntry,
} from '@herald/config';
import { kafkaLogCreator, kafkaLogLevel } from '@herald/kafka';
import { configuredSecrets, HeraldLogger, nestCallEntry, serviceLogging } from '@herald/platform';

const origin = { service: 'herald-sender', instance: 'sender-1' };
const at = new Date('2026-01-02T03:04:05.678Z');
const KEY = `hk_sk_${'a'.repeat(43)}`;

function line(entry: LogEntry, secrets: string[] = []): Record<string, unknown> {
  const text = formatLogLine(entry, origin, secrets, at);
  expect(text).not.toContain('\n');
  return JSON.parse(text) as Record<string, unknown>;
}

/** A JSON writer at `level` whose lines are kept, parsed. */
function captured(level: Parameters<typeof jsonLogWriter>[0]['level'] = 'verbose') {
  const lines: string[] = [];
  const writer = jsonLogWriter({ origin, level, out: (text) => lines.push(text), now: () => at });
  const parsed = () =>
    lines.map((text) => {
      expect(text.endsWith('\n')).toBe(true);
      expect(text.slice(0, -1)).not.toContain('\n');
      return JSON.parse(text) as Record<string, unknown>;
    });
  return { writer, lines, parsed };
}

describe('formatLogLine', () => {
  it('writes time, level, service, instance, context and msg, in that order', () => {
    const text = formatLogLine(
      { level: 'info', context: 'Sender', msg: 'listening' },
      origin,
      [],
      at,
    );
    expect(text).toBe(
      '{"time":"2026-01-02T03:04:05.678Z","level":"info","service":"herald-sender",' +
        '"instance":"sender-1","context":"Sender","msg":"listening"}',
    );
  });

  it('carries messageId, tenantId, fields and the error stack', () => {
    const parsed = line({
      level: 'error',
      msg: 'attempt failed',
      messageId: 'm-1',
      tenantId: 't-1',
      err: 'Error: boom\n    at x (y.ts:1:2)',
      fields: { provider: 'twilio', attempt: 2, nested: { ok: true } },
    });
    expect(parsed).toEqual({
      time: at.toISOString(),
      level: 'error',
      service: 'herald-sender',
      instance: 'sender-1',
      msg: 'attempt failed',
      messageId: 'm-1',
      tenantId: 't-1',
      provider: 'twilio',
      attempt: 2,
      nested: { ok: true },
      err: 'Error: boom\n    at x (y.ts:1:2)',
    });
  });

  it('never lets a field replace what the line sets itself', () => {
    const parsed = line({
      level: 'warn',
      msg: 'real',
      fields: { level: 'error', service: 'other', msg: 'fake', time: 0, kept: 1 },
    });
    expect(parsed).toMatchObject({ level: 'warn', service: 'herald-sender', msg: 'real', kept: 1 });
    expect(parsed.time).toBe(at.toISOString());
  });

  it('redacts secret keys, bearer and basic credentials, URL passwords and assignments', () => {
    const parsed = line({
      level: 'info',
      msg:
        `key ${KEY}, header Authorization: Bearer abc.def-ghi, basic Basic dXNlcjpwYXNz, ` +
        `url mongodb://herald:hunter22@db:27017/herald?authSource=admin, ` +
        `hook https://example.com/h?api_key=qwerty123&x=1, form password=letmein1&user=a`,
    });
    const msg = parsed.msg as string;
    for (const secret of [
      KEY,
      'abc.def-ghi',
      'dXNlcjpwYXNz',
      'hunter22',
      'qwerty123',
      'letmein1',
    ]) {
      expect(msg).not.toContain(secret);
    }
    expect(msg).toContain('hk_sk_[REDACTED]');
    expect(msg).toContain('Bearer [REDACTED]');
    expect(msg).toContain('Basic [REDACTED]');
    expect(msg).toContain('mongodb://[REDACTED]:[REDACTED]@db:27017/herald?authSource=admin');
    expect(msg).toContain('api_key=[REDACTED]&x=1');
    expect(msg).toContain('password=[REDACTED]&user=a');
  });

  it('leaves ordinary text alone', () => {
    const text =
      'task_id 42 dropped: basic auth refused at http://127.0.0.1:3000/v1/messages?limit=5';
    expect(redactLogText(text)).toBe(text);
  });

  it('removes configured secrets wherever they are, also in the ids and fields', () => {
    const secret = 'provider-token-XYZ';
    const parsed = line(
      {
        level: 'info',
        msg: `called with ${secret}`,
        messageId: `id-${secret}`,
        fields: { note: `encoded ${encodeURIComponent(`${secret}/+`)}`, list: [secret] },
        err: `Error: ${secret}`,
      },
      [secret, `${secret}/+`],
    );
    expect(JSON.stringify(parsed)).not.toContain(secret);
    expect(parsed.msg).toBe('called with [REDACTED]');
  });

  it('replaces fields named as credentials, kafkajs sasl included, keeping numbers', () => {
    const parsed = line({
      level: 'warn',
      msg: 'x',
      fields: {
        sasl: { mechanism: 'plain', username: 'u', password: 'p4ssword' },
        password: 'p4ssword',
        config: { apiKey: 'k-123456', client_secret: 's-123456', tokensUsed: 7 },
        broker: 'localhost:9092',
      },
    });
    expect(parsed).toMatchObject({
      sasl: '[REDACTED]',
      password: '[REDACTED]',
      config: { apiKey: '[REDACTED]', client_secret: '[REDACTED]', tokensUsed: 7 },
      broker: 'localhost:9092',
    });
    expect(JSON.stringify(parsed)).not.toMatch(/p4ssword|k-123456|s-123456/);
  });

  it('writes what JSON cannot hold: cycles, bytes, bigints, errors, dates', () => {
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle.self = cycle;
    const parsed = line({
      level: 'debug',
      msg: 'odd values',
      fields: {
        cycle,
        bytes: Buffer.from('secret bytes'),
        big: 10n ** 20n,
        error: new Error('inner'),
        when: at,
        nothing: undefined,
        fn: () => 1,
      },
    });
    expect(parsed.cycle).toEqual({ name: 'a', self: '[circular]' });
    expect(parsed.bytes).toBe('[12 bytes]');
    expect(parsed.big).toBe('100000000000000000000');
    expect(parsed.error).toMatch(/^Error: inner\n\s+at /);
    expect(parsed.when).toBe(at.toISOString());
    expect(parsed).not.toHaveProperty('nothing');
    expect(parsed).not.toHaveProperty('fn');
  });
});

describe('levels', () => {
  it("maps Nest's names to the line's and orders them", () => {
    expect(logLevelName('log')).toBe('info');
    expect(logLevelName('verbose')).toBe('verbose');
    expect(levelEnabled('warn', 'info')).toBe(true);
    expect(levelEnabled('debug', 'info')).toBe(false);
    expect(levelEnabled('verbose', 'verbose')).toBe(true);
    expect(levelEnabled('error', 'error')).toBe(true);
  });

  it('writes only the levels up to the configured one, one line per entry', () => {
    const { writer, parsed } = captured('info');
    for (const level of ['error', 'warn', 'info', 'debug', 'verbose'] as const) {
      writer.write({ level, msg: level });
    }
    expect(parsed().map((l) => l.level)).toEqual(['error', 'warn', 'info']);
    expect(writer.enabled('debug')).toBe(false);
  });
});

describe("Nest's logger calls", () => {
  it('takes the trailing string as the context, as ConsoleLogger does', () => {
    expect(nestCallEntry('info', ['listening on x', 'herald-sender'])).toEqual({
      level: 'info',
      msg: 'listening on x',
      context: 'herald-sender',
    });
    expect(nestCallEntry('info', ['alone'])).toEqual({ level: 'info', msg: 'alone' });
  });

  it("reads error's stack before the context, and a lone stack without one", () => {
    const stack = 'Error: boom\n    at f (a.ts:1:2)';
    expect(nestCallEntry('error', ['failed', stack, 'Ctx'])).toEqual({
      level: 'error',
      msg: 'failed',
      context: 'Ctx',
      err: stack,
    });
    expect(nestCallEntry('error', ['failed', stack])).toEqual({
      level: 'error',
      msg: 'failed',
      err: stack,
    });
    // A Logger('Ctx') instance calls error(message, undefined, 'Ctx') when given no stack.
    expect(nestCallEntry('error', ['failed', undefined, 'Ctx'])).toEqual({
      level: 'error',
      msg: 'failed',
      context: 'Ctx',
    });
  });

  it('lifts msg, messageId and tenantId from an object message; the rest are fields', () => {
    const entry = nestCallEntry('debug', [
      { msg: 'attempt 1: sent', messageId: 'm-1', tenantId: 't-1', provider: 'webhook' },
      'Sender',
    ]);
    expect(entry).toEqual({
      level: 'debug',
      msg: 'attempt 1: sent',
      context: 'Sender',
      messageId: 'm-1',
      tenantId: 't-1',
      fields: { provider: 'webhook' },
    });
  });

  it('takes an object after a string message the same way, and an Error as msg and err', () => {
    expect(nestCallEntry('warn', ['dropped', { messageId: 'm-2' }, 'Sender'])).toEqual({
      level: 'warn',
      msg: 'dropped',
      context: 'Sender',
      messageId: 'm-2',
    });
    const error = new Error('kaput');
    const entry = nestCallEntry('error', [error, undefined, 'Ctx']);
    expect(entry).toMatchObject({ msg: 'kaput', context: 'Ctx', err: error.stack });
  });

  it('writes JSON lines through HeraldLogger, filtered by level', () => {
    const { writer, parsed } = captured('info');
    const logger = new HeraldLogger(writer, 'json');
    logger.log({ msg: 'queued', messageId: 'm-3', tenantId: 't-3' }, 'Ingest');
    logger.debug('not written', 'Ingest');
    logger.error('failed to start: Bearer abcdefgh', 'Error: x\n    at y (z.ts:1:1)', 'herald-x');
    logger.fatal('fatal is error');
    expect(parsed()).toEqual([
      expect.objectContaining({
        level: 'info',
        context: 'Ingest',
        msg: 'queued',
        messageId: 'm-3',
        tenantId: 't-3',
      }),
      expect.objectContaining({
        level: 'error',
        context: 'herald-x',
        msg: 'failed to start: Bearer [REDACTED]',
        err: 'Error: x\n    at y (z.ts:1:1)',
      }),
      expect.objectContaining({ level: 'error', msg: 'fatal is error' }),
    ]);
  });
});

describe("kafkajs's lines", () => {
  it('go through the writer with its message, namespace, fields and stack, never sasl', () => {
    const { writer, parsed } = captured('info');
    const log = kafkaLogCreator(writer)(logLevel.WARN);
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: '2026-01-01T00:00:00.000Z',
        logger: 'kafkajs',
        message: 'Connection error: refused',
        broker: 'localhost:9092',
        clientId: 'herald-sender',
        error: 'connect ECONNREFUSED',
        stack: 'Error: connect ECONNREFUSED\n    at a (b.js:1:1)',
        sasl: { mechanism: 'plain', username: 'herald', password: 'kafka-pass-123' },
      },
    });
    log({ namespace: 'Runner', level: logLevel.DEBUG, label: 'DEBUG', log: debugEntry() });
    const [first, ...rest] = parsed();
    expect(rest).toHaveLength(0);
    expect(first).toEqual({
      time: at.toISOString(),
      level: 'error',
      service: 'herald-sender',
      instance: 'sender-1',
      context: 'kafkajs.Connection',
      msg: 'Connection error: refused',
      broker: 'localhost:9092',
      clientId: 'herald-sender',
      error: 'connect ECONNREFUSED',
      sasl: '[REDACTED]',
      err: 'Error: connect ECONNREFUSED\n    at a (b.js:1:1)',
    });
  });

  it('asks kafkajs for its INFO only from debug, its DEBUG only from verbose', () => {
    expect(kafkaLogLevel('error')).toBe(logLevel.ERROR);
    expect(kafkaLogLevel('info')).toBe(logLevel.WARN);
    expect(kafkaLogLevel('debug')).toBe(logLevel.INFO);
    expect(kafkaLogLevel('verbose')).toBe(logLevel.DEBUG);
  });
});

describe("a service's logging", () => {
  it('knows every configured credential, and leaves them out of its lines', () => {
    const config = loadConfig(
      'sender',
      {
        HERALD_API_KEYS: `default:${KEY}`,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'herald',
        KAFKA_SASL_PASSWORD: 'kafka-pass-123',
        MONGODB_URI: 'mongodb://herald:mongo%2Fpass@db:27017/herald',
        HERALD_TOKEN_SECRET: 't'.repeat(40),
        HERALD_SLACK_BOT_TOKEN: 'xoxb-slack-token-1',
        HERALD_WEBHOOK_HEADERS: JSON.stringify({ Authorization: 'Token hook-secret-1' }),
        HERALD_WEBHOOK_HEADER_HOSTS: 'example.com',
      },
      { terminal: false },
    );
    const secrets = configuredSecrets(config);
    expect(secrets).toEqual(
      expect.arrayContaining([
        KEY,
        'kafka-pass-123',
        'mongo/pass',
        't'.repeat(40),
        'xoxb-slack-token-1',
        'Token hook-secret-1',
        'hook-secret-1',
      ]),
    );
    const text = formatLogLine(
      { level: 'info', msg: `kafka-pass-123 mongo/pass xoxb-slack-token-1 hook-secret-1` },
      origin,
      secrets,
    );
    expect(text).not.toMatch(/kafka-pass|mongo\/pass|xoxb|hook-secret/);
  });

  it('is one writer per configuration, JSON unless the format says text', () => {
    const json = loadConfig('ingest', {}, { terminal: false });
    expect(serviceLogging(json)).toBe(serviceLogging(json));
    expect(serviceLogging(json).writer.level).toBe('info');
    const text = loadConfig('ingest', { HERALD_LOG_LEVEL: 'debug' }, { terminal: true });
    expect(text.logFormat).toBe('text');
    expect(serviceLogging(text).writer.level).toBe('debug');
  });
});

function debugEntry() {
  return { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message: 'fetching' };
}
