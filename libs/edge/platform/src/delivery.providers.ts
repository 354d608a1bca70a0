import type { Provider } from '@nestjs/common';
import type { Db } from 'mongodb';
import { loadPolicyRegistry, type HeraldConfig } from '@herald/config';
import { createProviders } from '@herald/providers';
import { FEED_COLLECTION, type FeedDocument } from '@herald/read-model';
import { MONGO_DB, POLICIES, PROVIDERS } from './tokens';

/**
 * The retry policies and provider adapters, for the services that deliver or check (ingest,
 * sender, status-checker).
 */
export function deliveryProviders(config: HeraldConfig): Provider[] {
  return [
    // A malformed policies file stops the service here, naming the line and field.
    { provide: POLICIES, useFactory: () => loadPolicyRegistry(config.retryPoliciesFile) },
    {
      provide: PROVIDERS,
      inject: [MONGO_DB],
      useFactory: (db: Db) =>
        createProviders(config.providers, {
          feed: db.collection<FeedDocument>(FEED_COLLECTION),
        }),
    },
  ];
}
