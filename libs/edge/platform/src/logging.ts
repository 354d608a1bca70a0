import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';
import {
  jsonLogWriter,
  levelEnabled,
  logLevelName,
  redactLogText,
  redactLogValue,
  type HeraldConfig,
  type LogEntry,
  type LogLevelName,
  type LogWriter,
} from '@herald/config';

/**
 * Every service's log: in JSON mode (HERALD_LOG_FORMAT=json, the default when stdout is not a
 * terminal) one JSON object per line on stdout, for Nest's lines, kafkajs's and Node's
 * warnings alike (fields: libs/edge/config/src/log-lines.ts); in text mode Nest's own readable
 * lines. Either way every string is redacted first.
 *
 * The convention for lines about a message: pass an object as the message itself, with `msg`
 * and the ids, and any other fields beside them:
 *
 *     this.logger.debug({ msg: 'attempt 1: sent', messageId, tenantId, provider: 'twilio' });
 *
 * (An object passed after a string message is taken the same way, so `logger.warn(text, {
 * messageId })` works too.) In text mode Nest prints such an object as JSON.
 */

export interface ServiceLogging {
  /** Where every line goes: Nest's through `logger`, kafkajs's through createKafka. */
  writer: LogWriter;
  /** The Nest logger of the whole process (NestFactory.create's `logger`). */
  logger: HeraldLogger;
}

const made = new WeakMap<HeraldConfig, ServiceLogging>();

/** The service's logging, made once per configuration, so run-service and the platform module share it. */
export function serviceLogging(config: HeraldConfig): ServiceLogging {
  const existing = made.get(config);
  if (existing) return existing;
  const level = logLevelName(config.logLevel);
  const secrets = configuredSecrets(config);
  const writer =
    config.logFormat === 'json'
      ? jsonLogWriter({
          origin: { service: `herald-${config.service}`, instance: config.instanceId },
          level,
          secrets,
        })
      : textLogWriter(level, secrets);
  const logging = { writer, logger: new HeraldLogger(writer, config.logFormat, secrets) };
  made.set(config, logging);
  return logging;
}

/**
 * Node's own warnings (a deprecation, a MaxListeners warning) as lines of the writer instead of
 * Node's text on stderr: in JSON mode every line of the output is JSON.
 */
export function logProcessWarnings(writer: LogWriter): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    writer.write({
      level: 'warn',
      context: 'node',
      msg: warning.message,
      fields: { name: warning.name, code: (warning as { code?: unknown }).code },
      ...(warning.stack ? { err: warning.stack } : {}),
    });
  });
}

/**
 * Nest's LoggerService over a LogWriter. Nest's calls are `log(message, ...params)`, where a
 * trailing string is the context (every `new Logger('Sender')` appends its own) and, for
 * `error`, the string before it the stack; this reads them the way Nest's ConsoleLogger does.
 */
export class HeraldLogger implements LoggerService {
  private readonly text: ConsoleLogger | null;

  constructor(
    private readonly writer: LogWriter,
    format: 'json' | 'text',
    private readonly secrets: readonly string[] = [],
  ) {
    this.text = format === 'text' ? new ConsoleLogger({ logLevels: ALL_NEST_LEVELS }) : null;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.emit('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.emit('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.emit('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.emit('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.emit('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.emit('error', message, params);
  }

  private emit(level: LogLevelName, message: unknown, params: unknown[]): void {
    if (!this.writer.enabled(level)) return;
    if (this.text) {
      const args = [message, ...params].map((arg) => this.redacted(arg));
      const [first, ...rest] = args;
      this.text[NEST_METHOD[level]](first, ...rest);
      return;
    }
    this.writer.write(nestCallEntry(level, [message, ...params]));
  }

  private redacted(arg: unknown): unknown {
    if (typeof arg === 'string') return redactLogText(arg, this.secrets);
    if (arg === null || typeof arg !== 'object') return arg;
    return redactLogValue(arg, this.secrets);
  }
}

const ALL_NEST_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

const NEST_METHOD = {
  error: 'error',
  warn: 'warn',
  info: 'log',
  debug: 'debug',
  verbose: 'verbose',
} as const satisfies Record<LogLevelName, keyof ConsoleLogger>;

/** Nest's stack heuristic (ConsoleLogger.isStackFormat). */
const STACK = /^(.)+\n\s+at .+:\d+:\d+/;

/**
 * A Nest logger call's arguments (`[message, ...params]`) as a LogEntry: the trailing string is
 * the context; for `error`, the string (or undefined) before it is the stack; strings and
 * Errors make `msg`; an object's `msg` (or `message`), `messageId`, `tenantId` and `err` are
 * lifted and its other keys become fields.
 */
export function nestCallEntry(level: LogLevelName, args: readonly unknown[]): LogEntry {
  let rest = [...args];
  let context: string | undefined;
  let stack: string | undefined;
  if (
    level === 'error' &&
    rest.length === 2 &&
    typeof rest[1] === 'string' &&
    STACK.test(rest[1])
  ) {
    stack = rest[1];
    rest = [rest[0]];
  } else {
    const last = rest[rest.length - 1];
    if (rest.length > 1 && typeof last === 'string') {
      context = last;
      rest = rest.slice(0, -1);
    }
    const before = rest[rest.length - 1];
    if (
      level === 'error' &&
      rest.length > 1 &&
      (typeof before === 'string' || before === undefined)
    ) {
      stack = before;
      rest = rest.slice(0, -1);
    }
  }

  const texts: string[] = [];
  const fields: Record<string, unknown> = {};
  const entry: LogEntry = { level, msg: '' };
  for (const item of rest) {
    if (item === undefined) continue;
    if (typeof item === 'string') {
      texts.push(item);
    } else if (item instanceof Error) {
      texts.push(item.message);
      entry.err ??= item.stack ?? String(item);
    } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      for (const [key, value] of Object.entries(item)) {
        if ((key === 'msg' || key === 'message') && typeof value === 'string') texts.push(value);
        else if ((key === 'messageId' || key === 'tenantId') && isId(value))
          entry[key] = String(value);
        else if ((key === 'err' || key === 'error') && value instanceof Error) {
          entry.err ??= value.stack ?? String(value);
          if (key === 'error') fields.error = value.message;
        } else fields[key] = value;
      }
    } else if (Array.isArray(item)) {
      texts.push(JSON.stringify(redactLogValue(item)));
    } else {
      texts.push(String(item));
    }
  }
  entry.msg = texts.join(' ');
  if (context) entry.context = context;
  if (stack) entry.err = stack;
  if (Object.keys(fields).length > 0) entry.fields = fields;
  return entry;
}

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

/**
 * A writer for text mode (kafkajs's lines and Node's warnings): Nest's ConsoleLogger, the ids
 * and fields after the message.
 */
function textLogWriter(level: LogLevelName, secrets: readonly string[]): LogWriter {
  const console = new ConsoleLogger({ logLevels: ALL_NEST_LEVELS });
  return {
    level,
    enabled: (at) => levelEnabled(at, level),
    write(entry) {
      if (!levelEnabled(entry.level, level)) return;
      const ids = [
        entry.messageId === undefined ? '' : ` messageId=${entry.messageId}`,
        entry.tenantId === undefined ? '' : ` tenantId=${entry.tenantId}`,
      ].join('');
      const fields =
        entry.fields && Object.keys(entry.fields).length > 0
          ? ` ${JSON.stringify(redactLogValue(entry.fields, secrets))}`
          : '';
      const text = `${redactLogText(entry.msg + ids, secrets)}${fields}`;
      const context = entry.context ?? '';
      if (entry.level === 'error') {
        console.error(text, entry.err ? redactLogText(entry.err, secrets) : undefined, context);
      } else {
        console[NEST_METHOD[entry.level]](text, context);
      }
    },
  };
}

/**
 * Every credential the service was configured with, for redactKnownSecrets: Kafka's and the
 * registry's passwords and TLS key, MongoDB's password, the recipient-token secret, the
 * bootstrap API keys, the providers' keys and tokens, and the webhook headers' values.
 */
export function configuredSecrets(config: HeraldConfig): string[] {
  const { providers } = config;
  const secrets: (string | undefined)[] = [
    config.kafka.sasl?.password,
    config.kafka.ssl?.key,
    config.schemaRegistryAuth?.password,
    ...userinfoPassword(config.mongodbUri),
    config.access.tokenSecret,
    ...config.access.bootstrapKeys.map((key) => key.key),
    providers.sendgrid?.apiKey,
    providers.twilio?.authToken,
    providers.slack?.botToken,
    providers.fcm?.privateKey,
    providers.apns?.privateKey,
    ...(providers.smtp ? userinfoPassword(providers.smtp.url) : []),
  ];
  for (const value of Object.values(providers.webhook.headers)) {
    secrets.push(value, /^\S+\s+(\S.*)$/.exec(value)?.[1]);
  }
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s !== ''))];
}

/** The password of `scheme://user:password@host…`, as written and decoded (none without one). */
function userinfoPassword(uri: string): string[] {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#]*)@/.exec(uri);
  if (!match?.[1]) return [];
  try {
    return [match[1], decodeURIComponent(match[1])];
  } catch {
    return [match[1]];
  }
}
