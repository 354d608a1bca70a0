import type { Collection } from 'mongodb';
import type { ProviderSettings } from '@herald/config';
import type { Channel } from '@herald/messages';
import type { FeedDocument } from '@herald/read-model';
import { ApnsProvider } from './apns.provider';
import { FcmProvider } from './fcm.provider';
import { InAppProvider } from './in-app.provider';
import type { ProviderAdapter } from '@herald/decisions';
import { SendgridProvider } from './sendgrid.provider';
import { SlackProvider } from './slack.provider';
import { SmtpProvider } from './smtp.provider';
import { TwilioProvider } from './twilio.provider';
import { WebhookProvider } from './webhook.provider';

/**
 * Every provider Herald can send through. A new provider registers here: an adapter whose
 * settings section is null (no credentials given) is left out, and messages naming it end
 * `not_sent` with a message saying what to configure.
 */
export function createProviders(
  settings: ProviderSettings,
  deps: { feed: Collection<FeedDocument> },
): ProviderRegistry {
  const { timeoutMs } = settings;
  const configurable: Record<string, () => ProviderAdapter | null> = {
    sendgrid: () => settings.sendgrid && new SendgridProvider(settings.sendgrid, timeoutMs),
    smtp: () => settings.smtp && new SmtpProvider(settings.smtp, timeoutMs),
    twilio: () => settings.twilio && new TwilioProvider(settings.twilio, timeoutMs),
    slack: () => settings.slack && new SlackProvider(settings.slack, timeoutMs),
    fcm: () => settings.fcm && new FcmProvider(settings.fcm, timeoutMs),
    apns: () => settings.apns && new ApnsProvider(settings.apns, timeoutMs),
  };
  const adapters: ProviderAdapter[] = [
    new WebhookProvider({ timeoutMs, ...settings.webhook }),
    new InAppProvider(deps.feed),
  ];
  const unconfigured: string[] = [];
  for (const [name, create] of Object.entries(configurable)) {
    const adapter = create();
    if (adapter) adapters.push(adapter);
    else unconfigured.push(name);
  }
  return new ProviderRegistry(adapters, unconfigured);
}

export class ProviderRegistry {
  private readonly byName: Map<string, ProviderAdapter>;

  constructor(
    adapters: ProviderAdapter[],
    /** Providers Herald has adapters for but no credentials were given. */
    private readonly unconfigured: readonly string[] = [],
  ) {
    this.byName = new Map(adapters.map((adapter) => [adapter.name, adapter]));
  }

  get(name: string): ProviderAdapter | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Why `provider` cannot carry a message on `channel`, or null when it can. */
  problemWith(provider: string, channel: Channel): string | null {
    const adapter = this.byName.get(provider);
    if (!adapter && this.unconfigured.includes(provider)) {
      return `provider '${provider}' is not configured on this Herald (see the README's providers table)`;
    }
    if (!adapter)
      return `unknown provider '${provider}' (known: ${[...this.byName.keys()].join(', ')})`;
    if (!adapter.channels.includes(channel)) {
      return `provider '${provider}' does not serve channel '${channel}' (it serves ${adapter.channels.join(', ')})`;
    }
    return null;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.byName.values()].map((adapter) => adapter.close?.()));
  }
}
