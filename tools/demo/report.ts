// What the demo prints once every message is final: the outcome table, two event timelines,
// the in-app feed, and the commands to look further.

import { relative } from 'node:path';
import type { DeliveryError } from '@herald/messages';
import type { ApiEvent, ApiFeedItem, ApiMessage, ApiPage } from '@herald/read-model';
import { isFinished, via, type DemoRun, type SendResult } from './messages';
import {
  duration,
  green,
  heading,
  offset,
  plural,
  red,
  roughDuration,
  say,
  statusStyle,
  table,
  yellow,
  type Cell,
} from './output';
import { DEMO_TENANT, http, type Target } from './target';

/** Prints everything after the wait; returns how many messages did not end as expected. */
export async function report(
  target: Target,
  run: DemoRun,
  results: Map<string, SendResult>,
  latest: Map<string, ApiMessage>,
): Promise<number> {
  const idOf = (name: string) => results.get(name)?.messageId ?? run.idOf(name);
  const inAppRecipient = run.request(run.scenario('in-app')).recipient;
  const mismatches = printOutcomes(run, results, latest);
  await printTimeline(target, idOf('gives-up'));
  await printRetryAfterNote(target, idOf('rate-limited'));
  await printTimeline(
    target,
    idOf('sms-delivered'),
    'Twilio took the SMS (sent); the status checker then asked Twilio for its status until it ' +
      'answered delivered.',
  );
  await printFeed(target, inAppRecipient);
  printWhereToLook(target, idOf, inAppRecipient);
  return mismatches;
}

function errorText(error: DeliveryError | null): string {
  if (!error) return '';
  // Provider texts can be vague (Twilio's own text for 30008 is "Unknown error"), so the code
  // is added when the text does not already name it (as "503 Service Unavailable" does http_503).
  const named = [error.code, error.code.replace(/^[^_]*_/, '')].some((part) =>
    error.message.toLowerCase().includes(part.toLowerCase()),
  );
  return `${error.message}${named ? '' : ` (${error.code})`} [${error.category}]`;
}

function printOutcomes(
  run: DemoRun,
  results: Map<string, SendResult>,
  latest: Map<string, ApiMessage>,
): number {
  heading('Outcome');
  const rows: Cell[][] = [];
  let mismatches = 0;
  for (const scenario of run.scenarios) {
    const result = results.get(scenario.name) ?? {
      messageId: run.idOf(scenario.name),
      accepted: false,
    };
    const message = latest.get(result.messageId);
    let status: Cell;
    let attempts = '-';
    let lastError = '';
    if (scenario.expect === 'rejected' && !result.accepted) {
      status = { text: '400 (never queued)', style: yellow };
      lastError = result.problems ?? '';
    } else if (!result.accepted) {
      status = { text: 'not sent', style: red };
      lastError = result.error instanceof Error ? result.error.message : (result.problems ?? '');
    } else if (!message) {
      status = { text: 'unknown (not projected)', style: red };
    } else {
      const final = isFinished(message.status, scenario.expect);
      status = {
        text: final ? message.status : `${message.status} (not final)`,
        style: statusStyle(message.status),
      };
      // Once status checks run, the message's maxAttempts is the check schedule's, not the
      // send's, so "1 of 11" would mislead: then attempts and checks are shown as counts.
      if (message.statusChecks) {
        attempts = `${message.attempts}, ${plural(message.statusChecks, 'check')}`;
      } else {
        attempts = message.maxAttempts
          ? `${message.attempts} of ${message.maxAttempts}`
          : String(message.attempts);
      }
      lastError = errorText(message.lastError);
    }
    const asExpected =
      scenario.expect === 'rejected'
        ? !result.accepted && Boolean(result.problems)
        : message?.status === scenario.expect;
    if (!asExpected) mismatches += 1;
    rows.push([
      result.messageId,
      via(scenario),
      scenario.story,
      status,
      attempts,
      asExpected
        ? { text: 'yes', style: green }
        : { text: `no, expected ${scenario.expect}`, style: red },
      lastError,
    ]);
  }
  table(
    ['MESSAGE', 'CHANNEL/PROVIDER', 'SCENARIO', 'STATUS', 'ATTEMPTS', 'AS EXPECTED', 'LAST ERROR'],
    rows,
  );
  return mismatches;
}

async function eventsOf(target: Target, messageId: string): Promise<ApiEvent[]> {
  const response = await http<{ events: ApiEvent[] }>(
    'GET',
    `${target.projector}/v1/messages/${messageId}/events`,
    undefined,
    target.apiKey,
  );
  return response.status === 200 ? (response.json?.events ?? []) : [];
}

/** `story`: a line on what the timeline shows, before the legend every timeline shares. */
async function printTimeline(target: Target, messageId: string, story?: string): Promise<void> {
  const events = await eventsOf(target, messageId);
  const first = events[0];
  if (!first) return;
  const t0 = Date.parse(first.occurredAt ?? '');
  heading(`Event timeline of ${messageId} (GET /v1/messages/${messageId}/events)`);
  if (story) say(`  ${story}`);
  say(
    `  Times are offsets from the first event. WAIT is the back-off before the next attempt (or ` +
      `status check); AT FULL SPEED is that wait at HERALD_TIME_SCALE=1.`,
  );
  // Status checks are counted apart from send attempts: every event after `sent` (the checks and
  // the outcome a check found) carries a check number, so say which one a number counts.
  let checking = false;
  const rows = events.map((event): Cell[] => {
    const at = Date.parse(event.occurredAt ?? '');
    const next = event.nextAttemptAt ? Date.parse(event.nextAttemptAt) : null;
    const counted = checking ? 'check ' : '';
    if (event.type === 'sent') checking = true;
    const attempt =
      event.attempt === 0
        ? '-'
        : event.maxAttempts
          ? `${counted}${event.attempt} of ${event.maxAttempts}`
          : `${counted}${event.attempt}`;
    return [
      String(event.seq),
      { text: event.type, style: statusStyle(event.status) },
      attempt,
      offset(at - t0),
      next === null ? '' : offset(next - t0),
      next === null ? '' : duration(next - at),
      next === null || target.timeScale === 1
        ? ''
        : `≈ ${roughDuration((next - at) / target.timeScale)}`,
      event.error ? event.error.message : '',
    ];
  });
  table(
    ['SEQ', 'EVENT', 'ATTEMPT', 'AT', 'NEXT ATTEMPT AT', 'WAIT', 'AT FULL SPEED', 'ERROR'],
    rows,
  );
}

/** One line on how the 429's Retry-After stretched the wait beyond Knock's scaled back-off. */
async function printRetryAfterNote(target: Target, messageId: string): Promise<void> {
  const events = await eventsOf(target, messageId);
  const failed = events.find((e) => e.type === 'delivery_attempted' && e.nextAttemptAt);
  const sent = events.find((e) => e.type === 'sent');
  if (!failed || !sent) return;
  const waited = Date.parse(sent.occurredAt ?? '') - Date.parse(failed.occurredAt ?? '');
  // Knock's first back-off is at most 7 s at full speed.
  const knockMax = 7_000 * target.timeScale;
  say(
    `\n  Retry-After: ${messageId} got 429 with "Retry-After: 1"; attempt 2 ran ${duration(waited)} later, ` +
      `although Knock's first back-off at this time scale is at most ${duration(knockMax)}.`,
  );
}

/** The in-app recipient's feed: what an app would show, read back from the projector. */
async function printFeed(target: Target, recipient: string): Promise<void> {
  const path = `/v1/recipients/${encodeURIComponent(recipient)}/feed`;
  const response = await http<ApiPage<ApiFeedItem>>(
    'GET',
    `${target.projector}${path}`,
    undefined,
    target.apiKey,
  );
  heading(`In-app feed of ${recipient} (GET ${path})`);
  if (response.status !== 200 || !response.json) {
    say(red(`  GET ${path} answered ${response.status}: ${response.text.slice(0, 300)}`));
    return;
  }
  const rows = response.json.items.map((item) => [
    item.id,
    item.createdAt ?? '-',
    Object.entries(item.content)
      .map(([key, value]) => `${key}: ${value}`)
      .join(', '),
  ]);
  if (rows.length === 0) say(yellow('  (empty)'));
  else table(['MESSAGE', 'CREATED AT', 'CONTENT'], rows);
}

function printWhereToLook(
  target: Target,
  idOf: (name: string) => string,
  inAppRecipient: string,
): void {
  const { projector, sim, ingest, logDir } = target;
  const retried = idOf('retried');
  const sms = idOf('sms-delivered');
  const feedOf = encodeURIComponent(inAppRecipient);
  const fromHere = relative(process.cwd(), logDir);
  const logs = fromHere.startsWith('..') ? logDir : fromHere || '.';
  heading('Where to look next');
  say(`  export HERALD_API_KEY=${target.apiKey}`);
  say(`  (tenant ${DEMO_TENANT}'s secret key; the commands below send it. Make more with`);
  say(`  npm run herald -- keys create --tenant <tenant>; list and revoke them the same way.)\n`);
  // Every /v1 call needs the key; the demo tenant's is in $HERALD_API_KEY (printed above).
  const auth = `-H "Authorization: Bearer $HERALD_API_KEY"`;
  const rows = [
    [
      'Message (status, attempts, last error)',
      `curl -s ${auth} ${projector}/v1/messages/${retried}`,
    ],
    ['Its event timeline', `curl -s ${auth} ${projector}/v1/messages/${retried}/events`],
    [
      'Its provider requests and responses',
      `curl -s ${auth} ${projector}/v1/messages/${retried}/logs`,
    ],
    [
      "The SMS's Twilio send and status lookups",
      `curl -s ${auth} ${projector}/v1/messages/${sms}/logs`,
    ],
    ["The in-app recipient's feed", `curl -s ${auth} ${projector}/v1/recipients/${feedOf}/feed`],
    [
      'Undelivered webhooks, newest first',
      `curl -s ${auth} '${projector}/v1/messages?status=undelivered&channel=webhook'`,
    ],
    [
      'Webhook endpoints (then …/{id}/deliveries)',
      `curl -s ${auth} ${target.webhooks}/v1/webhook-endpoints`,
    ],
    ['The API (OpenAPI document)', `curl -s ${projector}/docs`],
    ['What the simulator received', `curl -s '${sim}/_sim/requests?prefix=/hooks/'`],
    [
      'Send one yourself',
      `curl -s -X POST ${ingest}/v1/messages ${auth} -H 'content-type: application/json' -d ` +
        `'{"channel":"webhook","provider":"webhook","recipient":"${sim}/hooks/ok/mine","content":{"text":"hi"}}'`,
    ],
  ];
  table(['WHAT', 'HOW'], rows);
  say(
    `\n  Service logs: ${logs}/ingest.log, sender.log, status-checker.log, projector.log, webhooks.log, dashboard.log, provider-sim.log`,
  );
  // The servers' addresses are given explicitly, so the command works whatever ports were moved.
  const servers = `KAFKA_BROKERS=${target.kafkaBrokers.join(',')} SCHEMA_REGISTRY_URL=${target.schemaRegistryUrl}`;
  say(
    `  Events topic, decoded, live (Ctrl-C stops): ${servers} npm run demo -- events --from-beginning`,
  );
}
