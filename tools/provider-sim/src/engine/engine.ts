import { apnsRoute } from '../providers/apns';
import { fcmRoutes } from '../providers/fcm';
import { sendgridRoutes } from '../providers/sendgrid';
import { slackRoutes } from '../providers/slack';
import { SMTP_PATH, SMTP_ROUTE } from '../providers/smtp';
import { twilioRoutes } from '../providers/twilio';
import { receiverRoute } from '../providers/receiver';
import { webhookRoute } from '../providers/webhook';
import { type ProviderRoute, type RecordedRequest, type SimResponse } from '../route';
import { decide, parseScript, type Decision } from './scripts';
import { Delays } from './delays';
import { ProviderExchange, type Arrival, type ExchangeContext } from './exchange';
import { DEFAULT_MAX_MESSAGES, MessageStore } from './message-store';
import { parseReceiverSecrets, ReceiverRegistry } from './receivers';
import { parseRegistration, RecipientRegistry, registrationOn } from './recipients';
import {
  DEFAULT_MAX_PATHS,
  DEFAULT_MAX_RECORDED,
  Recordings,
  type RequestFilter,
  type SimStats,
  type StatsFilter,
} from './recordings';
import { inlineOf, OK, type RecipientScripts } from './script-choice';

/**
 * Everything of the simulator that is not a socket: the provider route tables, recipients and
 * their scripts, attempt counters, recordings, accepted messages and delayed answers. The
 * listeners (listeners/*.ts) only turn their protocol into calls on this and back.
 */

export interface EngineOptions {
  /** Delay before every answer unless a request overrides it. */
  latencyMs?: number;
  /** Recordings kept; the oldest are dropped first. 0 turns recording off. */
  maxRecorded?: number;
  /** Attempt counters kept (per path, and per route and recipient); least recently used go first. */
  maxPaths?: number;
  /** Accepted Twilio/SendGrid messages remembered for status lookups; the oldest go first. */
  maxMessages?: number;
  /** Provider routes in addition to the built-in ones, tried after them. */
  routes?: readonly ProviderRoute[];
  /** Called with one line per provider request; off by default because it costs throughput. */
  log?: (line: string) => void;
}

/** The port a request came in on: each serves its own providers. */
export type Listener = 'http' | 'apns';

/** Whether the engine takes the request, or the answer that refuses it outright. */
export type Admission =
  { ok: true; exchange: ProviderExchange } | { ok: false; response: SimResponse };

/** An SMTP recipient as the engine scripted it. */
export interface SmtpRecipient {
  attempt: number;
  script: string;
  decision: Decision;
}

export class SimulatorEngine {
  /** Read and written by the control API's /_sim/recipients endpoints too. */
  readonly registry = new RecipientRegistry();
  /** Signing secrets per receiver; read and written by /_sim/receivers too. */
  readonly receivers = new ReceiverRegistry();
  private readonly latencyMs: number;
  private readonly messages: MessageStore;
  private readonly recordings: Recordings;
  private readonly delays = new Delays();
  private readonly routes: Readonly<Record<Listener, readonly ProviderRoute[]>>;
  /** What every exchange reads of the engine; one object, not one per request. */
  private readonly exchangeContext: ExchangeContext;

  constructor(options: EngineOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.messages = new MessageStore(options.maxMessages ?? DEFAULT_MAX_MESSAGES);
    this.recordings = new Recordings({
      maxRecorded: options.maxRecorded ?? DEFAULT_MAX_RECORDED,
      maxCounters: options.maxPaths ?? DEFAULT_MAX_PATHS,
      log: options.log,
    });
    this.exchangeContext = {
      recordings: this.recordings,
      registry: this.registry,
      latencyMs: this.latencyMs,
    };
    this.routes = {
      http: [
        webhookRoute,
        receiverRoute(this.receivers),
        ...sendgridRoutes(this.messages),
        ...twilioRoutes(this.messages),
        ...slackRoutes(),
        ...fcmRoutes(),
        ...(options.routes ?? []),
      ],
      // APNs speaks only HTTP/2, on a port of its own.
      apns: [apnsRoute],
    };
  }

  /** The first route of the listener's table that owns the path, with the script it names. */
  routeFor(
    listener: Listener,
    path: string,
  ): { route: ProviderRoute; script: string | undefined } | undefined {
    for (const route of this.routes[listener]) {
      const match = route.match(path);
      if (match) return { route, script: match.script };
    }
    return undefined;
  }

  /** Takes a provider request on arrival; a method the route does not accept is refused. */
  begin(arrival: Arrival): Admission {
    const { route, method } = arrival;
    if (!route.methods.includes(method)) {
      const allow = route.methods.join(', ');
      const answer = route.error(405, {
        code: 'method_not_allowed',
        message: `${route.name} accepts ${allow}`,
        scripted: false,
      });
      return { ok: false, response: { ...answer, headers: { ...answer.headers, allow } } };
    }
    return { ok: true, exchange: new ProviderExchange(this.exchangeContext, arrival) };
  }

  /**
   * An SMTP RCPT TO, counted like a send on the smtp route: its registered, then inline send
   * script decides the reply (SMTP has no override header at this stage).
   */
  smtpRecipient(recipient: string): SmtpRecipient {
    const script =
      registrationOn(this.registry.get(recipient), SMTP_ROUTE)?.send ??
      inlineOf(recipient).send ??
      OK;
    this.recordings.arrive(SMTP_PATH);
    const attempt = this.recordings.attempt('send', `${SMTP_ROUTE} ${recipient}`);
    return { attempt, script: script.name, decision: decide(script.script, attempt) };
  }

  /** The decision of an `X-Sim-Script` header in a message, for the message's attempt. */
  smtpOverride(
    script: string,
    attempt: number,
  ): { ok: true; decision: Decision } | { ok: false; error: string } {
    const parsed = parseScript(script);
    return parsed.ok ? { ok: true, decision: decide(parsed.script, attempt) } : parsed;
  }

  record(request: RecordedRequest): void {
    this.recordings.record(request);
  }

  /** Runs `action` after `ms`; the returned function cancels it. */
  after(ms: number, action: () => void): () => void {
    return this.delays.after(ms, action);
  }

  /** Runs `action` after the simulator-wide latency: for SMTP, which has no per-request one. */
  afterLatency(action: () => void): void {
    if (this.latencyMs <= 0) action();
    else this.delays.after(this.latencyMs, action);
  }

  /** Cancels every delayed answer, for close(). */
  cancelPending(): void {
    this.delays.cancelAll();
  }

  requests(filter: RequestFilter = {}): RecordedRequest[] {
    return this.recordings.requests(filter);
  }

  stats(filter: StatsFilter = {}): SimStats {
    return this.recordings.stats(filter);
  }

  /** Like `PUT /_sim/recipients/<r>`; throws naming the bad field. */
  register(recipient: string, scripts: RecipientScripts): void {
    const parsed = parseRegistration(scripts);
    if (!parsed.ok) throw new Error(parsed.error);
    this.registry.set(recipient, parsed.registration);
  }

  /** Forgets one recipient's registration, or all of them. */
  unregister(recipient?: string): void {
    if (recipient === undefined) this.registry.clear();
    else this.registry.delete(recipient);
  }

  /** Like `PUT /_sim/receivers/<name>`; throws naming the bad field. */
  registerReceiver(name: string, secrets: readonly string[]): void {
    const parsed = parseReceiverSecrets(name, { secrets });
    if (!parsed.ok) throw new Error(parsed.error);
    this.receivers.set(name, parsed.secrets);
  }

  /** Forgets one receiver's secrets, or every receiver's. */
  unregisterReceiver(name?: string): void {
    if (name === undefined) this.receivers.clear();
    else this.receivers.delete(name);
  }

  /** Forgets recordings, counters, registrations (recipients' and receivers') and messages. */
  reset(): void {
    this.recordings.clear();
    this.registry.clear();
    this.receivers.clear();
    this.messages.clear();
  }
}
