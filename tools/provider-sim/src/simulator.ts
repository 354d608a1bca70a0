import type http from 'node:http';
import { SimulatorEngine, type EngineOptions } from './engine/engine';
import { type RequestFilter, type SimStats, type StatsFilter } from './engine/recordings';
import { type RecipientScripts } from './engine/script-choice';
import { createApnsListener } from './listeners/h2c';
import { createHttpListener } from './listeners/http';
import { createSmtpListener } from './listeners/smtp';
import { type RecordedRequest } from './route';

/**
 * A stand-in for the providers Herald calls: webhooks, SendGrid, Twilio, Slack, FCM (HTTP/1.1
 * port), APNs (HTTP/2 cleartext port) and SMTP (its own port). This file only puts the engine
 * (engine/: scripts, attempts, recordings) together with the listeners (listeners/: sockets);
 * providers/*.ts hold each API's paths and answers.
 *
 * Webhooks come in two kinds, both scripted by their path and counted per full path:
 *
 *   POST /hooks/<script>/<anything...>       accepts any request
 *   POST /receivers/<script>/<name...>       a Standard Webhooks receiver: the webhook-id,
 *        webhook-timestamp and webhook-signature headers must verify with one of the secrets
 *        registered for <name> (PUT /_sim/receivers/<name>, or registerReceiver below), else
 *        401 invalid_signature without running the script. Recordings carry `signature`:
 *        which of the registered secrets verified the delivery.
 */

export { BODY_PARSE_LIMIT, BODY_RECORD_LIMIT } from './engine/exchange';
export { MAX_RECEIVER_SECRETS, parseReceiverSecrets } from './engine/receivers';
export { DEFAULT_MAX_PATHS, DEFAULT_MAX_RECORDED } from './engine/recordings';
export type { RequestFilter, SimStats } from './engine/recordings';
export type { RecipientScripts } from './engine/script-choice';
export type {
  ErrorDetail,
  ProviderRequest,
  ProviderRoute,
  RecordedRequest,
  RequestInput,
  SignatureCheck,
  SimResponse,
  Verification,
} from './route';
export { webhookRoute } from './providers/webhook';
export {
  receiverPathOf,
  verifyReceiverSignature,
  type ReceiverPath,
  type SignatureVerification,
} from './providers/receiver';

export interface SimulatorOptions extends EngineOptions {
  /** Port for the APNs HTTP/2 cleartext listener: 0 = any free port, undefined = none. */
  apnsPort?: number;
  /** Port for the SMTP listener: 0 = any free port, undefined = none. */
  smtpPort?: number;
}

export interface SimAddresses {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:4010 */
  url: string;
  /** e.g. http://127.0.0.1:4011, when an APNs port was configured. */
  apnsUrl?: string;
  /** e.g. smtp://127.0.0.1:2525, when an SMTP port was configured. */
  smtpUrl?: string;
}

export interface Simulator {
  server: http.Server;
  listen(port?: number, host?: string): Promise<SimAddresses>;
  close(): Promise<void>;
  /** Base URL once listening, e.g. http://127.0.0.1:4010. */
  url(): string;
  /** The APNs h2c base URL once listening; throws when no APNs port was configured. */
  apnsUrl(): string;
  /** The SMTP URL once listening; throws when no SMTP port was configured. */
  smtpUrl(): string;
  requests(filter?: RequestFilter): RecordedRequest[];
  stats(filter?: StatsFilter): SimStats;
  /** Like `PUT /_sim/recipients/<r>`; throws naming the bad field. */
  register(recipient: string, scripts: RecipientScripts): void;
  /** Forgets one recipient's registration, or all of them. */
  unregister(recipient?: string): void;
  /**
   * Like `PUT /_sim/receivers/<name>`: the 1 to 4 `whsec_` secrets that deliveries to
   * `/receivers/<script>/<name>` are verified with. Throws naming the bad field.
   */
  registerReceiver(name: string, secrets: readonly string[]): void;
  /** Forgets one receiver's secrets, or every receiver's. */
  unregisterReceiver(name?: string): void;
  /** Forgets recordings, counters, registrations (recipients' and receivers') and messages. */
  reset(): void;
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const engine = new SimulatorEngine(options);
  const http1 = createHttpListener(engine);
  const apns = options.apnsPort === undefined ? undefined : createApnsListener(engine);
  const smtp = options.smtpPort === undefined ? undefined : createSmtpListener(engine);
  let boundUrl: string | undefined;
  let boundApnsUrl: string | undefined;
  let boundSmtpUrl: string | undefined;

  const close = async (): Promise<void> => {
    engine.cancelPending();
    await Promise.all([http1.close(), apns?.close(), smtp?.close()]);
  };

  return {
    server: http1.server,
    url: () => {
      if (!boundUrl) throw new Error('provider simulator is not listening');
      return boundUrl;
    },
    apnsUrl: () => {
      if (!boundApnsUrl) throw new Error('provider simulator has no APNs listener');
      return boundApnsUrl;
    },
    smtpUrl: () => {
      if (!boundSmtpUrl) throw new Error('provider simulator has no SMTP listener');
      return boundSmtpUrl;
    },
    listen: async (port = 0, host = '127.0.0.1') => {
      const shown = host.includes(':') ? `[${host}]` : host;
      const bound = await http1.listen(port, host);
      boundUrl = `http://${shown}:${bound}`;
      const addresses: SimAddresses = { host, port: bound, url: boundUrl };
      try {
        if (apns && options.apnsPort !== undefined) {
          boundApnsUrl = `http://${shown}:${await apns.listen(options.apnsPort, host)}`;
          addresses.apnsUrl = boundApnsUrl;
        }
        if (smtp && options.smtpPort !== undefined) {
          boundSmtpUrl = `smtp://${shown}:${await smtp.listen(options.smtpPort, host)}`;
          addresses.smtpUrl = boundSmtpUrl;
        }
      } catch (error) {
        // Half a simulator is worse than none: the caller would test against missing ports.
        await close();
        throw error;
      }
      return addresses;
    },
    close,
    requests: (filter) => engine.requests(filter),
    stats: (filter) => engine.stats(filter),
    register: (recipient, scripts) => engine.register(recipient, scripts),
    unregister: (recipient) => engine.unregister(recipient),
    registerReceiver: (name, secrets) => engine.registerReceiver(name, secrets),
    unregisterReceiver: (name) => engine.unregisterReceiver(name),
    reset: () => engine.reset(),
  };
}
