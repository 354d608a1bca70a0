/**
 * Where the integration tests' servers come from, in order of preference:
 *  1. env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGODB_URI are all set — use them;
 *  2. testcontainers: a Docker engine answers — official images, started per run;
 *  3. local: scripts/infra.sh provisions and starts the real servers as local processes.
 * (global-setup.ts decides; the harness in tools/harness runs the scripts.)
 */
// By path, not @herald/config: global-setup.ts imports this file without the path aliases.
import { readKafkaSecurity } from '../../libs/edge/config/src/kafka-security';

export type ServerMode = 'env' | 'testcontainers' | 'local';

export function envServersGiven(env = process.env): boolean {
  return Boolean(env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.MONGODB_URI);
}

export function serverMode(): ServerMode {
  const mode = process.env.HERALD_TEST_SERVERS;
  if (mode === 'env' || mode === 'testcontainers' || mode === 'local') return mode;
  throw new Error('HERALD_TEST_SERVERS is not set: run the integration tests through jest');
}

export function testEnv() {
  // The tests' own clients authenticate as the services do (KAFKA_SASL_*, KAFKA_SSL*,
  // SCHEMA_REGISTRY_USERNAME/PASSWORD), so the suite runs against a secured cluster too.
  const security = readKafkaSecurity(process.env);
  if (security.problems.length > 0) {
    const problems = security.problems.map((p) => `${p.variable}: ${p.problem}`);
    throw new Error(`the tests' Kafka/registry settings are invalid: ${problems.join('; ')}`);
  }
  const saslBrokers = process.env.HERALD_TEST_KAFKA_SASL_BROKERS;
  return {
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? '',
    mongodbUri: process.env.MONGODB_URI ?? '',
    kafkaSecurity: security.kafka,
    registryAuth: security.schemaRegistryAuth,
    /**
     * A listener that requires SASL, with a user that has PLAIN and SCRAM credentials: the local
     * broker's (scripts/infra/kafka.sh), or HERALD_TEST_KAFKA_SASL_* with servers from the env.
     */
    kafkaSasl: saslBrokers
      ? {
          brokers: saslBrokers.split(','),
          username: process.env.HERALD_TEST_KAFKA_SASL_USERNAME || 'herald',
          password: process.env.HERALD_TEST_KAFKA_SASL_PASSWORD || 'herald-local-secret',
        }
      : undefined,
  };
}
