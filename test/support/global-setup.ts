// Jest loads global setup without the tsconfig path aliases, so this imports the harness's infra
// file by path (it needs no alias itself).
import { dockerEngineAnswers, infra, localRegistryUrl } from '../../tools/harness/infra';
import { envServersGiven } from './servers';
import { startContainers } from './containers';

/** The tests run the local servers whatever HERALD_INFRA_MODE says (Docker means testcontainers). */
const LOCAL = { HERALD_INFRA_MODE: 'local' };

export default async function globalSetup(): Promise<void> {
  if (envServersGiven()) {
    process.env.HERALD_TEST_SERVERS = 'env';
    return;
  }
  if (dockerEngineAnswers()) {
    const urls = await startContainers();
    Object.assign(process.env, urls, { HERALD_TEST_SERVERS: 'testcontainers' });
    return;
  }
  // Local processes: start whatever is not running yet, and stop at the end only what we started.
  const alreadyUp = infra('status', LOCAL) === 0;
  if (!alreadyUp && infra('up', LOCAL) !== 0) {
    throw new Error('scripts/infra.sh up failed: see the messages above and .herald/logs/');
  }
  Object.assign(process.env, {
    KAFKA_BROKERS: '127.0.0.1:9092',
    SCHEMA_REGISTRY_URL: localRegistryUrl(),
    MONGODB_URI: 'mongodb://127.0.0.1:27017/herald_test',
    // The local broker's SASL listener and its fixed test user (scripts/infra/kafka.sh).
    HERALD_TEST_KAFKA_SASL_BROKERS: `127.0.0.1:${process.env.KAFKA_SASL_PORT || 9094}`,
    HERALD_TEST_SERVERS: 'local',
    HERALD_TEST_STOP_LOCAL: alreadyUp ? '0' : '1',
  });
}
