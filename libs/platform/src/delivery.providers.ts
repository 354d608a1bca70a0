import type { Provider } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { createProviders } from '@herald/providers';
import { loadPolicyRegistry } from '@herald/retry-policy';
import { POLICIES, PROVIDERS } from './tokens';

/** The retry policies and provider adapters, for the services that deliver (ingest, sender). */
export function deliveryProviders(config: HeraldConfig): Provider[] {
  return [
    // A malformed policies file stops the service here, naming the line and field.
    { provide: POLICIES, useFactory: () => loadPolicyRegistry(config.retryPoliciesFile) },
    {
      provide: PROVIDERS,
      useFactory: () =>
        createProviders({
          webhook: { timeoutMs: config.providerTimeoutMs, headers: config.webhookHeaders },
        }),
    },
  ];
}
