import 'reflect-metadata';
import { loadConfig } from '@herald/config';
import { runService } from '@herald/platform';
import { rebuildDeliveries } from './delivery-projection';
import { WebhooksModule } from './webhooks.module';

if (process.argv[2] === 'rebuild') {
  rebuildDeliveries(loadConfig('webhooks')).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`herald-webhooks rebuild failed: ${error.message}\n`);
      process.exit(1);
    },
  );
} else {
  void runService('webhooks', (config) => WebhooksModule.forConfig(config));
}
