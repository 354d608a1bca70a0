import { stopContainers } from './containers';
import { infra } from '../../tools/harness/infra';

export default async function globalTeardown(): Promise<void> {
  if (process.env.HERALD_TEST_SERVERS === 'testcontainers') await stopContainers();
  if (process.env.HERALD_TEST_SERVERS === 'local' && process.env.HERALD_TEST_STOP_LOCAL === '1') {
    infra('down', { HERALD_INFRA_MODE: 'local' });
  }
}
