/**
 * Where the integration tests' servers come from, in order of preference:
 *  1. env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGODB_URI are all set — use them;
 *  2. testcontainers: a Docker engine answers — official images, started per run;
 *  3. local: scripts/infra.sh provisions and starts the real servers as local processes.
 * (global-setup.ts decides; the harness in tools/harness runs the scripts.)
 */
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
  return {
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? '',
    mongodbUri: process.env.MONGODB_URI ?? '',
  };
}
