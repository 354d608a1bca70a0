import { Kafka, logLevel, type Admin, type ITopicConfig, type logCreator } from 'kafkajs';
import type { KafkaSasl, KafkaTls, LogLevelName, LogWriter } from '@herald/config';
import type { TopicSpec } from '@herald/topics';
import { fixKafkajsIdleSpin, fixKafkajsPausedPolls } from './kafkajs-idle-fix';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** SASL over the connection (SASL_PLAINTEXT, or SASL_SSL with `ssl`). */
  sasl?: KafkaSasl;
  /** TLS to the brokers. */
  ssl?: KafkaTls;
}

/**
 * A Kafka client. With `log` (every service's: see the platform module), kafkajs's lines go
 * through Herald's writer, so they are JSON lines like the rest; without it (tools, tests),
 * kafkajs logs as it does by default.
 */
export function createKafka(settings: KafkaSettings, log?: LogWriter): Kafka {
  // See kafkajs-idle-fix.ts: every Kafka client of Herald is made here.
  fixKafkajsIdleSpin();
  fixKafkajsPausedPolls();
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...(settings.sasl ? { sasl: { ...settings.sasl } } : {}),
    ...(settings.ssl ? { ssl: { ...settings.ssl } } : {}),
    logLevel: log ? kafkaLogLevel(log.level) : logLevel.WARN,
    ...(log ? { logCreator: kafkaLogCreator(log) } : {}),
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  madeWith.set(kafka, { settings, log });
  return kafka;
}

/** What each client was made with, so that a sibling can be made alike. */
const madeWith = new WeakMap<Kafka, { settings: KafkaSettings; log?: LogWriter }>();

/**
 * A new client made like `kafka`, for a second consumer of the same group in one process.
 * kafkajs keeps a group's committed offsets in one object per client and group, shared by every
 * consumer of that group made from the client, and a consumer that joins clears it and fills in
 * only its own topics: the others' next fetch then fails on a topic that is gone ("Cannot read
 * properties of undefined"), which kafkajs does not retry, and the consumer stops for good. A
 * client per consumer keeps each its own.
 */
export function siblingKafka(kafka: Kafka): Kafka {
  const made = madeWith.get(kafka);
  if (!made) throw new Error('siblingKafka: the client was not made by createKafka');
  return createKafka(made.settings, made.log);
}

/**
 * How much kafkajs says at each Herald level: its INFO (every join, every start and stop of a
 * consumer) only from `debug`, its DEBUG (every request) only from `verbose`.
 */
export function kafkaLogLevel(level: LogLevelName): logLevel {
  switch (level) {
    case 'error':
      return logLevel.ERROR;
    case 'warn':
    case 'info':
      return logLevel.WARN;
    case 'debug':
      return logLevel.INFO;
    case 'verbose':
      return logLevel.DEBUG;
  }
}

const KAFKA_LEVELS: Partial<Record<logLevel, LogLevelName>> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

const KAFKA_OWN_FIELDS = new Set(['message', 'stack', 'timestamp', 'logger']);

/**
 * kafkajs's lines as Herald's: its message as `msg`, `kafkajs.<namespace>` as the context, its
 * stack as `err`, and its other fields (broker, clientId, groupId, error, retryCount…) as
 * fields, without its own timestamp and logger name. The writer redacts them; a `sasl` field,
 * or any other named as a credential, never gets through.
 */
export function kafkaLogCreator(log: LogWriter): logCreator {
  return () =>
    ({ namespace, level, log: content }) => {
      const name = KAFKA_LEVELS[level];
      if (name === undefined || !log.enabled(name)) return;
      // Without kafkajs's own timestamp and logger name: the line has its time, and its context
      // says kafkajs.
      const { message, stack } = content;
      const fields = Object.fromEntries(
        Object.entries(content).filter(([key]) => !KAFKA_OWN_FIELDS.has(key)),
      );
      log.write({
        level: name,
        context: namespace ? `kafkajs.${namespace}` : 'kafkajs',
        msg: String(message),
        ...(typeof stack === 'string' ? { err: stack } : {}),
        fields,
      });
    };
}

/**
 * Creates every declared topic that does not exist yet. Safe to run from every instance of
 * every service at once: a topic another instance has just created is not an error. An
 * existing topic keeps its partitions; a declared config that differs is reported, not forced.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((topic) => !existing.has(topic.name))
    .map((topic) => ({
      topic: topic.name,
      numPartitions: topic.partitions,
      replicationFactor: -1, // the broker's default.replication.factor
      configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) {
    // createTopics resolves false (not an error) when a topic already exists, e.g. created
    // by another instance between listTopics and here.
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  }
}

/** A short-lived request that succeeds only while a broker answers. */
export async function pingKafka(admin: Admin): Promise<void> {
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no brokers in cluster metadata');
}

/**
 * A broker refused the configured SASL credentials. kafkajs gives up on these at once (they are
 * not retriable), so a service with a wrong password stops within a second, saying so.
 */
export class KafkaAuthenticationError extends Error {
  constructor(settings: KafkaSettings, reason: string) {
    const who = settings.sasl
      ? `for user '${settings.sasl.username}' (mechanism ${settings.sasl.mechanism})`
      : '(no SASL configured: set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)';
    super(
      `cannot connect to Kafka at ${settings.brokers.join(',')}: SASL authentication failed ${who}: ${reason}`,
    );
    this.name = 'KafkaAuthenticationError';
  }
}

/**
 * The KafkaAuthenticationError behind `error` (kafkajs's KafkaJSSASLAuthenticationError, however
 * deeply wrapped), or undefined when `error` is about something else. The password is taken out
 * of the broker's reason in case a broker ever echoes it.
 */
export function kafkaAuthenticationFailure(
  error: unknown,
  settings: KafkaSettings,
): KafkaAuthenticationError | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current);) {
    seen.add(current);
    if (current instanceof KafkaAuthenticationError) return current;
    if (current.name === 'KafkaJSSASLAuthenticationError') {
      const password = settings.sasl?.password;
      const reason = password
        ? current.message.split(password).join('[REDACTED]')
        : current.message;
      return new KafkaAuthenticationError(settings, reason);
    }
    current = current.cause ?? (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}
