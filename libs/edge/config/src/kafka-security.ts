import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * How Herald authenticates to Kafka (SASL, TLS) and to the schema registry (HTTP basic auth),
 * from the environment. Every Kafka and registry client (the services, the projector's rebuild,
 * the demo, the bench, the tests) takes its settings from here, so they all connect the same way.
 *
 * Problems name the variable and never quote a value: a mistyped variable must not print a
 * password into a log.
 */

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** kafkajs's `sasl` option for the mechanisms Herald supports (a union, as kafkajs types it). */
export type KafkaSasl = {
  [M in SaslMechanism]: { mechanism: M; username: string; password: string };
}[SaslMechanism];

/** kafkajs's `ssl` option (node:tls connect options): the files' contents, not their paths. */
export interface KafkaTls {
  rejectUnauthorized: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface KafkaSecurity {
  sasl?: KafkaSasl;
  ssl?: KafkaTls;
}

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface SecurityProblem {
  variable: string;
  problem: string;
}

const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => ['true', 'false', '1', '0'].includes(value), {
    message: 'must be true or false',
  })
  .transform((value) => value === 'true' || value === '1');

const filePath = z.string().trim().min(1, 'must not be blank');
const accountName = z.string().trim().min(1, 'must not be blank');

const securitySchema = z.object({
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => ['plain', 'scram-sha-256', 'scram-sha-512'].includes(value), {
      message: 'must be plain, scram-sha-256 or scram-sha-512',
    })
    .transform((value) => value as SaslMechanism)
    .optional(),
  KAFKA_SASL_USERNAME: accountName.optional(),
  // Passwords are taken exactly as given: a space may be part of one.
  KAFKA_SASL_PASSWORD: z.string().optional(),
  KAFKA_SSL: flag.optional(),
  KAFKA_SSL_CA_FILE: filePath.optional(),
  KAFKA_SSL_CERT_FILE: filePath.optional(),
  KAFKA_SSL_KEY_FILE: filePath.optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag.optional(),
  SCHEMA_REGISTRY_USERNAME: accountName.optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
});

const TLS_VARIABLES = [
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
] as const;

export interface SecurityResult {
  kafka: KafkaSecurity;
  schemaRegistryAuth: RegistryAuth | undefined;
  /** Empty when the settings are usable; otherwise `kafka` and the auth are not to be used. */
  problems: SecurityProblem[];
}

/**
 * Reads the Kafka security and registry auth variables. Empty values count as unset, as in
 * loadConfig. `readFile` is the file system unless a test gives another.
 */
export function readKafkaSecurity(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SecurityResult {
  const present = Object.fromEntries(
    Object.keys(securitySchema.shape).flatMap((name) => {
      const value = env[name];
      return value === undefined || value === '' ? [] : [[name, value]];
    }),
  );
  const parsed = securitySchema.safeParse(present);
  if (!parsed.success) {
    return {
      kafka: {},
      schemaRegistryAuth: undefined,
      // Every check above has its own message, and none of them quotes the value.
      problems: parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        problem: issue.message,
      })),
    };
  }
  const values = parsed.data;
  const problems: SecurityProblem[] = [];
  const requires = (variable: string, when: string) =>
    problems.push({ variable, problem: `must be set when ${when} is set` });

  let sasl: KafkaSasl | undefined;
  const mechanism = values.KAFKA_SASL_MECHANISM;
  const username = values.KAFKA_SASL_USERNAME;
  const password = values.KAFKA_SASL_PASSWORD;
  if (mechanism) {
    if (username === undefined) requires('KAFKA_SASL_USERNAME', 'KAFKA_SASL_MECHANISM');
    if (password === undefined) requires('KAFKA_SASL_PASSWORD', 'KAFKA_SASL_MECHANISM');
    if (username !== undefined && password !== undefined) sasl = { mechanism, username, password };
  } else if (username !== undefined || password !== undefined) {
    // Credentials without a mechanism would silently connect unauthenticated.
    problems.push({
      variable: 'KAFKA_SASL_MECHANISM',
      problem: `must be set (plain, scram-sha-256 or scram-sha-512) when ${
        username !== undefined ? 'KAFKA_SASL_USERNAME' : 'KAFKA_SASL_PASSWORD'
      } is set`,
    });
  }

  let ssl: KafkaTls | undefined;
  if (values.KAFKA_SSL) {
    ssl = { rejectUnauthorized: values.KAFKA_SSL_REJECT_UNAUTHORIZED ?? true };
    const files = [
      ['ca', 'KAFKA_SSL_CA_FILE'],
      ['cert', 'KAFKA_SSL_CERT_FILE'],
      ['key', 'KAFKA_SSL_KEY_FILE'],
    ] as const;
    for (const [option, variable] of files) {
      const path = values[variable];
      if (path === undefined) continue;
      try {
        ssl[option] = readFile(path);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        problems.push({ variable, problem: `cannot read ${path} (${reason})` });
      }
    }
    // A client certificate is useless without its key, and the other way round.
    if (values.KAFKA_SSL_CERT_FILE && !values.KAFKA_SSL_KEY_FILE) {
      requires('KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE');
    }
    if (values.KAFKA_SSL_KEY_FILE && !values.KAFKA_SSL_CERT_FILE) {
      requires('KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE');
    }
  } else {
    // TLS files with TLS off is a mistake that would otherwise connect in plain text.
    const stray = TLS_VARIABLES.find((variable) => values[variable] !== undefined);
    if (stray) {
      problems.push({ variable: 'KAFKA_SSL', problem: `must be true when ${stray} is set` });
    }
  }

  let schemaRegistryAuth: RegistryAuth | undefined;
  const registryUser = values.SCHEMA_REGISTRY_USERNAME;
  const registryPassword = values.SCHEMA_REGISTRY_PASSWORD;
  if (registryUser !== undefined && registryPassword === undefined) {
    requires('SCHEMA_REGISTRY_PASSWORD', 'SCHEMA_REGISTRY_USERNAME');
  } else if (registryUser === undefined && registryPassword !== undefined) {
    requires('SCHEMA_REGISTRY_USERNAME', 'SCHEMA_REGISTRY_PASSWORD');
  } else if (registryUser !== undefined && registryPassword !== undefined) {
    schemaRegistryAuth = { username: registryUser, password: registryPassword };
  }

  const kafka: KafkaSecurity = {};
  if (sasl) kafka.sasl = sasl;
  if (ssl) kafka.ssl = ssl;
  return { kafka, schemaRegistryAuth, problems };
}
