import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseBootstrapKeys, type BootstrapKey } from '@herald/access';
import { parseAllowlist, type DestinationPolicy } from '@herald/destinations';
import { buildProviderSettings, type ProviderSettings } from './provider-settings';
import { readKafkaSecurity, type KafkaSecurity, type RegistryAuth } from './kafka-security';

/**
 * Every setting Herald reads, in one typed place. Each service calls loadConfig(process.env)
 * once at start; a missing or malformed variable stops it with a message naming the variable,
 * instead of failing later at the first message.
 */

const brokerList = z
  .string()
  .trim()
  .min(1, 'must list at least one broker')
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .refine((brokers) => brokers.every((broker) => /^[^\s:]+:\d{1,5}$/.test(broker)), {
    message: 'must be a comma-separated list of host:port',
  });

const httpUrl = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\/[^\s]+$/.test(value), { message: 'must be an http(s) URL' })
  .transform((value) => value.replace(/\/+$/, ''));

const mongoUri = z
  .string()
  .trim()
  .refine((value) => /^mongodb(\+srv)?:\/\/[^\s]+$/.test(value), {
    message: 'must be a mongodb:// or mongodb+srv:// URI',
  });

const port = z.coerce
  .number({ message: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

const positiveNumber = z.coerce
  .number({ message: 'must be a number' })
  .positive('must be greater than 0')
  .finite('must be finite');

export const SERVICE_PORTS = {
  ingest: { variable: 'INGEST_PORT', default: 3000 },
  projector: { variable: 'PROJECTOR_PORT', default: 3001 },
  sender: { variable: 'SENDER_PORT', default: 3002 },
  'status-checker': { variable: 'STATUS_CHECKER_PORT', default: 3003 },
  webhooks: { variable: 'WEBHOOKS_PORT', default: 3005 },
  dashboard: { variable: 'DASHBOARD_PORT', default: 3004 },
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

const envSchema = z.object({
  KAFKA_BROKERS: brokerList.default(['localhost:9092']),
  KAFKA_CLIENT_ID: z.string().trim().min(1).optional(),
  SCHEMA_REGISTRY_URL: httpUrl.default('http://localhost:8081'),
  MONGODB_URI: mongoUri.default('mongodb://localhost:27017/herald'),
  HERALD_TIME_SCALE: positiveNumber.default(1),
  HERALD_SCHEMA_DIR: z.string().trim().min(1).optional(),
  HERALD_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  // Unset: JSON lines unless stdout is a terminal (see loadConfig).
  HERALD_LOG_FORMAT: z.enum(['json', 'text'], { message: 'must be json or text' }).optional(),
  // Tracing is on when either is set (OpenTelemetry's own variables): the traces URL as it is,
  // or the collector's base URL, to which /v1/traces is added.
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  HERALD_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  HERALD_READY_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
  HERALD_INSTANCE_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dots, dashes or underscores')
    .optional(),
  HERALD_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(512),
  HERALD_PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(12),
  HERALD_KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  HERALD_PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  HERALD_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  HERALD_LIVENESS_WRITE_FAILURE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(120_000),
  HERALD_PROJECTOR_HOLD_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  HERALD_RETRY_POLICIES_FILE: z.string().trim().min(1).optional(),
  HERALD_PROVIDERS_FILE: z.string().trim().min(1).optional(),
  // Access (see the README's "Access and tenancy").
  HERALD_API_KEYS: z
    .string()
    .optional()
    .transform((value, context) => {
      const parsed = parseBootstrapKeys(value);
      if ('keys' in parsed) return parsed.keys;
      context.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }),
  HERALD_KEY_REFRESH_MS: z.coerce.number().int().min(100).max(10_000).default(5_000),
  HERALD_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  HERALD_FEED_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value, context) => {
      const origins = (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== '');
      const bad = origins.find((origin) => origin !== '*' && !/^https?:\/\/[^\s/]+$/.test(origin));
      if (bad === undefined) return origins;
      context.addIssue({
        code: 'custom',
        message: `'${bad}' is not an origin (scheme://host[:port], or *)`,
      });
      return z.NEVER;
    }),
  HERALD_OPS_ACCESS: z.enum(['loopback', 'anywhere']).default('loopback'),
  // Where provider calls may go (see the README's "Network guard").
  HERALD_ALLOW_PRIVATE_NETWORKS: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default('false'),
  HERALD_NETWORK_ALLOWLIST: z
    .string()
    .optional()
    .transform((value, context) => {
      const parsed = parseAllowlist(value);
      if (!('problem' in parsed)) return parsed;
      context.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }),
  HERALD_WEBHOOK_HEADERS: z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return {};
      try {
        const parsed: unknown = JSON.parse(value);
        if (
          parsed &&
          typeof parsed === 'object' &&
          !Array.isArray(parsed) &&
          Object.values(parsed).every((v) => typeof v === 'string')
        ) {
          return parsed as Record<string, string>;
        }
      } catch {
        // reported below
      }
      context.addIssue({
        code: 'custom',
        message: 'must be a JSON object of header names to strings',
      });
      return z.NEVER;
    }),
  HERALD_WEBHOOK_HEADER_HOSTS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((host) => host.trim().toLowerCase())
        .filter((host) => host !== ''),
    ),
  INGEST_PORT: port.default(SERVICE_PORTS.ingest.default),
  PROJECTOR_PORT: port.default(SERVICE_PORTS.projector.default),
  SENDER_PORT: port.default(SERVICE_PORTS.sender.default),
  STATUS_CHECKER_PORT: port.default(SERVICE_PORTS['status-checker'].default),
  WEBHOOKS_PORT: port.default(SERVICE_PORTS.webhooks.default),
  DASHBOARD_PORT: port.default(SERVICE_PORTS.dashboard.default),
  // The dashboard (see the README's "Dashboard and status page").
  HERALD_DASHBOARD_SESSION_MINUTES: z.coerce.number().int().min(1).max(43_200).default(720),
  HERALD_DASHBOARD_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  HERALD_STATUS_SERVICES: z
    .string()
    .optional()
    .transform((value, context) => {
      const urls: Record<string, string> = {};
      for (const entry of (value ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const [name, url] = entry.split(/=(.*)/s).map((part) => part?.trim() ?? '');
        if (!name || !url || !/^https?:\/\/[^/]+/.test(url)) {
          context.addIssue({
            code: 'custom',
            message: `'${entry}' is not name=http(s)://host:port (comma-separated)`,
          });
          return z.NEVER;
        }
        urls[name] = url.replace(/\/+$/, '');
      }
      return urls;
    }),
  // Outbound webhooks (see the README's "Outbound webhooks").
  HERALD_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  HERALD_WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  HERALD_WEBHOOK_SLOW_AFTER_MS: z.coerce.number().int().min(0).max(60_000).default(500),
});

type Env = z.infer<typeof envSchema>;

export interface HeraldConfig {
  service: ServiceName;
  httpPort: number;
  /** Loopback by default; set HERALD_HTTP_HOST=0.0.0.0 in a container. */
  httpHost: string;
  /** With SASL and TLS when KAFKA_SASL_* / KAFKA_SSL* say so (see kafka-security.ts). */
  kafka: { brokers: string[]; clientId: string } & KafkaSecurity;
  schemaRegistryUrl: string;
  /** HTTP basic auth for the registry, when SCHEMA_REGISTRY_USERNAME/PASSWORD are set. */
  schemaRegistryAuth: RegistryAuth | undefined;
  mongodbUri: string;
  /** Every retry and back-off delay is multiplied by this. */
  timeScale: number;
  schemaDir: string | undefined;
  logLevel: Env['HERALD_LOG_LEVEL'];
  /**
   * `json`: one JSON object per line (libs/edge/config/src/log-lines.ts), the default when
   * stdout is not a terminal; `text`: Nest's readable lines, the default on a terminal.
   */
  logFormat: 'json' | 'text';
  /** Where spans go over OTLP/HTTP (…/v1/traces); null: tracing is off. */
  tracesEndpoint: string | null;
  readyTimeoutMs: number;
  /** Names this process's transactional producers; stable across restarts fences a crashed one. */
  instanceId: string;
  /** Bound on concurrent handlers (e.g. provider calls) per consumer in this process. */
  maxInFlight: number;
  partitionConcurrency: number;
  /** How long a dead instance keeps its partitions before the group gives them to others. */
  sessionTimeoutMs: number;
  providerTimeoutMs: number;
  /**
   * After SIGTERM, how long running work may take to finish and commit before the service
   * leaves anyway (readiness answers 503 from the signal on).
   */
  shutdownGraceMs: number;
  /**
   * Liveness answers 503 once this process's Kafka or MongoDB writes have failed, or one has
   * hung, for this long: a restart with fresh connections is what it needs.
   */
  livenessWriteFailureMs: number;
  /**
   * How long the projector holds a just-queued message's event for what follows it (usually
   * `sent` within milliseconds), so the two become one write instead of an insert and an update.
   */
  projectorHoldMs: number;
  retryPoliciesFile: string | undefined;
  webhooks: {
    /** Each call to an endpoint is bounded by this (Standard Webhooks recommends 15 s). */
    timeoutMs: number;
    /** Calls in flight to one endpoint, at most; more of its deliveries wait their turn. */
    endpointConcurrency: number;
    /**
     * How long a batch waits for a call before handing it off (see the webhooks app): an
     * endpoint slower than this never holds up another's deliveries.
     */
    slowAfterMs: number;
  };
  dashboard: {
    sessionTtlMs: number;
    /** Behind a proxy that ends HTTPS: trust its X-Forwarded-Proto (one hop). */
    trustProxy: boolean;
    /** Base URL of each Herald service the status page probes (its /health/ready). */
    statusServices: Record<string, string>;
  };
  access: {
    /** HERALD_API_KEYS: stored as hashes at the first check, then served like any other key. */
    bootstrapKeys: BootstrapKey[];
    /** How often each service reloads the keys, so a revocation is seen within this. */
    keyRefreshMs: number;
    /** Signs recipient tokens; unset, one is made and kept in MongoDB. */
    tokenSecret: string | undefined;
    /** Origins a browser may read the in-app feed from; empty (the default) is no CORS. */
    feedCorsOrigins: string[];
    /** Who may read /metrics and /docs: loopback callers only (default), or anyone. */
    opsAccess: 'loopback' | 'anywhere';
  };
  /** Which addresses provider and webhook calls may reach (libs/domain/destinations). */
  destinations: DestinationPolicy;
  /** Every provider's base URL and credentials; unconfigured providers are null. */
  providers: ProviderSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map(({ variable, problem }) => `  ${variable}: ${problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Reads the environment; empty strings count as unset so `FOO=` falls back to the default. */
export function loadConfig(
  service: ServiceName,
  env: Record<string, string | undefined> = process.env,
  /** Whether stdout is a terminal, which picks the default HERALD_LOG_FORMAT. */
  output: { terminal: boolean } = { terminal: process.stdout.isTTY === true },
): HeraldConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        problem: issue.message,
      })),
    );
  }
  const values = parsed.data;
  if (
    Object.keys(values.HERALD_WEBHOOK_HEADERS).length > 0 &&
    values.HERALD_WEBHOOK_HEADER_HOSTS.length === 0
  ) {
    // A webhook URL is the caller's: headers for every host would hand the operator's
    // credentials to whatever host a caller names.
    throw new ConfigError([
      {
        variable: 'HERALD_WEBHOOK_HEADER_HOSTS',
        problem: 'must name the hosts HERALD_WEBHOOK_HEADERS are sent to (comma-separated)',
      },
    ]);
  }
  const providers = loadProviderSettings(values, present);
  const security = readKafkaSecurity(present);
  if (security.problems.length > 0) throw new ConfigError(security.problems);
  return {
    service,
    httpPort: values[SERVICE_PORTS[service].variable],
    httpHost: values.HERALD_HTTP_HOST,
    kafka: {
      brokers: values.KAFKA_BROKERS,
      clientId: values.KAFKA_CLIENT_ID ?? `herald-${service}`,
      ...security.kafka,
    },
    schemaRegistryUrl: values.SCHEMA_REGISTRY_URL,
    schemaRegistryAuth: security.schemaRegistryAuth,
    mongodbUri: values.MONGODB_URI,
    timeScale: values.HERALD_TIME_SCALE,
    schemaDir: values.HERALD_SCHEMA_DIR,
    logLevel: values.HERALD_LOG_LEVEL,
    logFormat: values.HERALD_LOG_FORMAT ?? (output.terminal ? 'text' : 'json'),
    tracesEndpoint:
      values.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      (values.OTEL_EXPORTER_OTLP_ENDPOINT
        ? `${values.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`
        : null),
    readyTimeoutMs: values.HERALD_READY_TIMEOUT_MS,
    instanceId: values.HERALD_INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    maxInFlight: values.HERALD_MAX_IN_FLIGHT,
    partitionConcurrency: values.HERALD_PARTITION_CONCURRENCY,
    sessionTimeoutMs: values.HERALD_KAFKA_SESSION_TIMEOUT_MS,
    providerTimeoutMs: values.HERALD_PROVIDER_TIMEOUT_MS,
    shutdownGraceMs: values.HERALD_SHUTDOWN_GRACE_MS,
    livenessWriteFailureMs: values.HERALD_LIVENESS_WRITE_FAILURE_MS,
    projectorHoldMs: values.HERALD_PROJECTOR_HOLD_MS,
    retryPoliciesFile: values.HERALD_RETRY_POLICIES_FILE,
    webhooks: {
      timeoutMs: values.HERALD_WEBHOOK_TIMEOUT_MS,
      endpointConcurrency: values.HERALD_WEBHOOK_ENDPOINT_CONCURRENCY,
      slowAfterMs: values.HERALD_WEBHOOK_SLOW_AFTER_MS,
    },
    access: {
      bootstrapKeys: values.HERALD_API_KEYS,
      keyRefreshMs: values.HERALD_KEY_REFRESH_MS,
      tokenSecret: values.HERALD_TOKEN_SECRET,
      feedCorsOrigins: values.HERALD_FEED_CORS_ORIGINS,
      opsAccess: values.HERALD_OPS_ACCESS,
    },
    dashboard: {
      sessionTtlMs: values.HERALD_DASHBOARD_SESSION_MINUTES * 60_000,
      trustProxy: values.HERALD_DASHBOARD_TRUST_PROXY === 'true',
      // Every service the status page probes: each at its port on this host unless named.
      statusServices: Object.fromEntries(
        (Object.keys(SERVICE_PORTS) as ServiceName[])
          .filter((name) => name !== 'dashboard')
          .map((name) => [
            name,
            values.HERALD_STATUS_SERVICES[name] ??
              `http://127.0.0.1:${values[SERVICE_PORTS[name].variable]}`,
          ]),
      ),
    },
    destinations: {
      allowPrivateNetworks: values.HERALD_ALLOW_PRIVATE_NETWORKS === 'true',
      ...values.HERALD_NETWORK_ALLOWLIST,
    },
    providers,
  };
}

function loadProviderSettings(values: Env, env: Record<string, string | undefined>) {
  const filePath = values.HERALD_PROVIDERS_FILE;
  let file: Record<string, unknown> = {};
  if (filePath) {
    try {
      const parsed: unknown = parseYaml(readFileSync(filePath, 'utf8')); // YAML is a JSON superset
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new Error('must map provider names to their settings');
        }
        file = parsed as Record<string, unknown>;
      }
    } catch (error) {
      throw new ConfigError([
        { variable: 'HERALD_PROVIDERS_FILE', problem: `${filePath}: ${(error as Error).message}` },
      ]);
    }
  }
  const { settings, problems } = buildProviderSettings(
    { env, file, filePath, readFile: (path) => readFileSync(path, 'utf8') },
    {
      timeoutMs: values.HERALD_PROVIDER_TIMEOUT_MS,
      webhook: {
        headers: values.HERALD_WEBHOOK_HEADERS,
        headerHosts: values.HERALD_WEBHOOK_HEADER_HOSTS,
      },
    },
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/**
 * The settings of a command-line tool (`npm run herald`), which needs only the database: the
 * same variable, default and validation as the services'.
 */
export function loadCliConfig(env: Record<string, string | undefined> = process.env): {
  mongodbUri: string;
} {
  const parsed = z
    .object({ MONGODB_URI: mongoUri.default('mongodb://localhost:27017/herald') })
    .safeParse(env.MONGODB_URI ? { MONGODB_URI: env.MONGODB_URI } : {});
  if (!parsed.success) {
    throw new ConfigError([{ variable: 'MONGODB_URI', problem: parsed.error.issues[0]!.message }]);
  }
  return { mongodbUri: parsed.data.MONGODB_URI };
}

/**
 * The Kafka settings of a tool (the demo, the bench, the tests): the same variables, defaults
 * and validation as the services', so a tool reaches an authenticated cluster as they do.
 */
export function kafkaSettingsFromEnv(
  env: Record<string, string | undefined>,
  clientId: string,
): { brokers: string[]; clientId: string } & KafkaSecurity {
  const brokers = brokerList.default(['localhost:9092']).safeParse(env.KAFKA_BROKERS || undefined);
  if (!brokers.success) {
    throw new ConfigError([
      { variable: 'KAFKA_BROKERS', problem: brokers.error.issues[0]!.message },
    ]);
  }
  const security = readKafkaSecurity(env);
  if (security.problems.length > 0) throw new ConfigError(security.problems);
  return { brokers: brokers.data, clientId, ...security.kafka };
}

/** The registry settings of a tool, as the services read them. */
export function registrySettingsFromEnv(env: Record<string, string | undefined>): {
  url: string;
  auth: RegistryAuth | undefined;
} {
  const url = httpUrl
    .default('http://localhost:8081')
    .safeParse(env.SCHEMA_REGISTRY_URL || undefined);
  if (!url.success) {
    throw new ConfigError([
      { variable: 'SCHEMA_REGISTRY_URL', problem: url.error.issues[0]!.message },
    ]);
  }
  const security = readKafkaSecurity(env);
  if (security.problems.length > 0) throw new ConfigError(security.problems);
  return { url: url.data, auth: security.schemaRegistryAuth };
}
