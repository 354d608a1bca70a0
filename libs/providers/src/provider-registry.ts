import type { Channel } from '@herald/messages';
import type { ProviderAdapter } from './provider';
import { WebhookProvider, type WebhookSettings } from './webhook.provider';

export interface ProviderSettings {
  webhook: WebhookSettings;
}

/** Every provider Herald can send through. A new provider registers here. */
export function createProviders(settings: ProviderSettings): ProviderRegistry {
  return new ProviderRegistry([new WebhookProvider(settings.webhook)]);
}

export class ProviderRegistry {
  private readonly byName: Map<string, ProviderAdapter>;

  constructor(adapters: ProviderAdapter[]) {
    this.byName = new Map(adapters.map((adapter) => [adapter.name, adapter]));
  }

  get(name: string): ProviderAdapter | undefined {
    return this.byName.get(name);
  }

  /** Why `provider` cannot carry a message on `channel`, or null when it can. */
  problemWith(provider: string, channel: Channel): string | null {
    const adapter = this.byName.get(provider);
    if (!adapter)
      return `unknown provider '${provider}' (known: ${[...this.byName.keys()].join(', ')})`;
    if (!adapter.channels.includes(channel)) {
      return `provider '${provider}' does not serve channel '${channel}' (it serves ${adapter.channels.join(', ')})`;
    }
    return null;
  }
}
