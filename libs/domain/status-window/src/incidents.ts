import { redactKnownSecrets } from '@herald/redaction';
import {
  PROVIDER_WINDOW_MINUTES,
  type LatencySummary,
  type ProviderCallShare,
  type TrafficSummary,
  type WindowSnapshot,
} from './window';

/**
 * The status page's judgement, as pure functions of what the probes found and what the window
 * counted: which incidents are open, and the overall state. The report's shape is here too, so
 * `/status.json` and the HTML page are one value.
 */

/** Herald's own processes, each probed at its /health/ready. */
export const SERVICE_COMPONENTS = [
  'ingest',
  'sender',
  'status-checker',
  'projector',
  'webhooks',
] as const;
/** The servers Herald needs. */
export const SERVER_COMPONENTS = ['kafka', 'schema-registry', 'mongodb'] as const;
export type ComponentName =
  (typeof SERVICE_COMPONENTS)[number] | (typeof SERVER_COMPONENTS)[number];
export type ComponentKind = 'service' | 'server';

/**
 * Down means no message gets in or out: the servers every service needs, ingest (nothing is
 * accepted) and the sender (nothing is sent). The others down leave Herald working, worse:
 * reads go stale (projector), confirmations wait (status-checker), webhooks wait (webhooks).
 */
const CRITICAL: ReadonlySet<ComponentName> = new Set([...SERVER_COMPONENTS, 'ingest', 'sender']);

export interface ComponentState {
  name: ComponentName;
  kind: ComponentKind;
  state: 'up' | 'down';
  /** When the component entered this state (as first seen by this process). */
  since: number;
  checkedAt: number;
  /** What the last probe found, fit for the public: see safeDetail(). */
  detail: string;
}

export interface Incident {
  kind: 'component_down' | 'provider_failing';
  /** The component or provider's name. */
  subject: string;
  since: number;
  detail: string;
}

export type Overall = 'operational' | 'degraded' | 'major_outage';

/**
 * A provider failing more than half its calls over the last 5 minutes is an incident, but only
 * over at least `minCalls` calls: one failed call of one, or two of three, is a bad moment,
 * not an outage (and at low traffic would open and close incidents all day).
 */
export const PROVIDER_FAILING = { minCalls: 4, moreThan: 0.5 } as const;

/**
 * Providers whose calls go where each tenant says: the `webhook` provider calls tenants' own
 * URLs, so its failures are those tenants' endpoints, not an outage of Herald or of a provider
 * it depends on, and a public incident would tell the world about a tenant's systems. Its share
 * is still shown; it opens no incident.
 */
export const TENANT_ADDRESSED_PROVIDERS: readonly string[] = ['webhook'];

/**
 * The incidents open now: each component down, each provider failing (see PROVIDER_FAILING).
 * `previous` (what the last evaluation returned) keeps a provider incident's start while it
 * stays open; a new one starts at the earliest failed call in the window. A component's start
 * is the probe's: when it was first seen down.
 */
export function openIncidents(
  input: {
    components: readonly ComponentState[];
    providers: readonly ProviderCallShare[];
  },
  previous: readonly Incident[] = [],
): Incident[] {
  const before = new Map(previous.map((incident) => [incidentKey(incident), incident]));
  const down: Incident[] = input.components
    .filter((component) => component.state === 'down')
    .map((component) => ({
      kind: 'component_down',
      subject: component.name,
      since: component.since,
      detail: `${component.name} is down: ${component.detail}`,
    }));
  const failing: Incident[] = input.providers
    .filter(
      (provider) => isFailing(provider) && !TENANT_ADDRESSED_PROVIDERS.includes(provider.provider),
    )
    .map((provider) => {
      const open = before.get(`provider_failing:${provider.provider}`);
      return {
        kind: 'provider_failing',
        subject: provider.provider,
        since: open?.since ?? provider.firstFailedAt ?? 0,
        detail:
          `${provider.failed} of ${provider.calls} calls failed in the last ` +
          `${PROVIDER_WINDOW_MINUTES} minutes`,
      };
    });
  return [...down, ...failing];
}

export function isFailing(provider: Pick<ProviderCallShare, 'calls' | 'failed'>): boolean {
  return (
    provider.calls >= PROVIDER_FAILING.minCalls &&
    provider.failed / provider.calls > PROVIDER_FAILING.moreThan
  );
}

/**
 * major_outage: a critical component is down (see CRITICAL); degraded: another component is
 * down or a provider is failing; operational otherwise.
 */
export function overallStatus(
  components: readonly ComponentState[],
  incidents: readonly Incident[],
): Overall {
  const down = components.filter((component) => component.state === 'down');
  if (down.some((component) => CRITICAL.has(component.name))) return 'major_outage';
  if (down.length > 0 || incidents.length > 0) return 'degraded';
  return 'operational';
}

function incidentKey(incident: Incident): string {
  return `${incident.kind}:${incident.subject}`;
}

/** What GET /status.json answers (and the status page shows). Times are ISO-8601. */
export interface StatusReport {
  generatedAt: string;
  overall: Overall;
  components: {
    name: ComponentName;
    kind: ComponentKind;
    state: 'up' | 'down';
    since: string;
    checkedAt: string;
    detail: string;
  }[];
  traffic: TrafficSummary;
  latency: LatencySummary;
  providers: { provider: string; calls: number; failed: number; failureShare: number }[];
  incidents: { kind: Incident['kind']; subject: string; since: string; detail: string }[];
}

/**
 * The report from its parts. Only named fields are copied, so nothing the window or the probes
 * hold beyond them (a provider's first failure time) reaches the page by accident.
 */
export function statusReport(input: {
  now: number;
  components: readonly ComponentState[];
  window: WindowSnapshot;
  incidents: readonly Incident[];
}): StatusReport {
  return {
    generatedAt: iso(input.now),
    overall: overallStatus(input.components, input.incidents),
    components: input.components.map((c) => ({
      name: c.name,
      kind: c.kind,
      state: c.state,
      since: iso(c.since),
      checkedAt: iso(c.checkedAt),
      detail: c.detail,
    })),
    traffic: {
      windowMinutes: input.window.traffic.windowMinutes,
      channels: input.window.traffic.channels.map((c) => ({
        channel: c.channel,
        messagesPerMinute: c.messagesPerMinute,
        messages: c.messages,
        failed: c.failed,
        failureRate: c.failureRate,
      })),
    },
    latency: {
      requestToSentP50Ms: input.window.latency.requestToSentP50Ms,
      requestToSentP99Ms: input.window.latency.requestToSentP99Ms,
      samples: input.window.latency.samples,
    },
    providers: input.window.providers.map((p) => ({
      provider: p.provider,
      calls: p.calls,
      failed: p.failed,
      failureShare: p.failureShare,
    })),
    incidents: input.incidents.map((i) => ({
      kind: i.kind,
      subject: i.subject,
      since: iso(i.since),
      detail: i.detail,
    })),
  };
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

/** Details are short: a reason, not a stack. */
export const DETAIL_MAX_LENGTH = 200;
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*):\/\/(\S+)/gi;

/**
 * A probe's finding fit for a public page: every URL in it cut to its scheme and host (no
 * userinfo, which a MongoDB URI quoted by an error may hold; no path or query, which may hold
 * tokens), each configured secret replaced, on one line, cut to DETAIL_MAX_LENGTH.
 */
export function safeDetail(text: string, secrets: readonly string[] = []): string {
  const urlsCut = text.replace(URL_IN_TEXT, (_url, scheme: string, rest: string) => {
    // Punctuation after a quoted URL ("(mongodb://…)." ) is the sentence's: kept.
    const trailing = /[)\]}>,;.'"]*$/.exec(rest)?.[0] ?? '';
    const core = rest.slice(0, rest.length - trailing.length);
    // The last "@" ends the userinfo, so a password holding "/" or "@" is cut whole.
    const host = core.slice(core.lastIndexOf('@') + 1).split(/[/?#]/)[0] ?? '';
    return `${scheme}://${host}${trailing}`;
  });
  const clean = redactKnownSecrets(urlsCut, secrets).replace(/\s+/g, ' ').trim();
  return clean.length <= DETAIL_MAX_LENGTH ? clean : `${clean.slice(0, DETAIL_MAX_LENGTH - 1)}…`;
}
