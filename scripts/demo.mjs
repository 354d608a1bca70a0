// The part of `npm run demo` that talks to a running Herald: sends messages that each take a
// different path through the pipeline (webhooks through success, retries and failure, then one
// per channel and provider, all answered by the provider simulator), waits (polling the read
// API, with a deadline) until every one has a final status, and prints what happened.
//
//   node scripts/demo.mjs           run the scenarios (scripts/demo.sh starts everything first)
//   node scripts/demo.mjs events    print every event on herald.message-events as it arrives
//                                   (--from-beginning for the whole topic); Ctrl-C stops it
//
// Plain Node ESM, no build step. Where Herald runs comes from the same variables the services
// read: INGEST_PORT, PROJECTOR_PORT, PROVIDER_SIM_PORT, KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
// HERALD_TIME_SCALE. HERALD_DEMO_TIMEOUT_S bounds the wait for final statuses (default 90, or
// Knock's 30-minute window at HERALD_TIME_SCALE plus a minute when that is longer).

import { randomInt, randomUUID } from 'node:crypto';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const { fetch, AbortSignal } = globalThis;
const env = process.env;

const HOST = '127.0.0.1';
const portOf = (name, fallback) => Number(env[name] || fallback);
const INGEST = `http://${HOST}:${portOf('INGEST_PORT', 3000)}`;
const PROJECTOR = `http://${HOST}:${portOf('PROJECTOR_PORT', 3001)}`;
const SIM = `http://${HOST}:${portOf('PROVIDER_SIM_PORT', 4010)}`;
const KAFKA_BROKERS = (env.KAFKA_BROKERS || 'localhost:9092').split(',').map((b) => b.trim());
const SCHEMA_REGISTRY_URL = (env.SCHEMA_REGISTRY_URL || 'http://localhost:8081').replace(
  /\/+$/,
  '',
);
const TIME_SCALE = Number(env.HERALD_TIME_SCALE || 1);
// Long enough for Knock's window at this time scale, plus a minute for everything else.
const TIMEOUT_MS = Number(env.HERALD_DEMO_TIMEOUT_S || Math.max(90, 1800 * TIME_SCALE + 60)) * 1000;
const LOG_DIR = env.HERALD_DEMO_LOG_DIR || '.herald/logs';

// `sent` is not among them: Twilio and SendGrid messages go on to status checks after it.
const TERMINAL = new Set(['delivered', 'undelivered', 'bounced', 'not_sent']);
/** Finished: what the scenario expects, or a status nothing follows. */
const isFinished = (status, expect) => status === expect || TERMINAL.has(status);
const REQUESTS_TOPIC = 'herald.messages.requested';
const EVENTS_TOPIC = 'herald.message-events';

// ---------------------------------------------------------------------------------------------
// Output: aligned tables, a little colour on a terminal, nothing else.

const colour = process.stdout.isTTY && !env.NO_COLOR;
const paint = (code) => (text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');

const say = (line = '') => console.log(line);
const heading = (text) => say(`\n${bold(text)}`);

/** rows: arrays of strings, or of { text, style } to colour a cell after it is padded. */
function table(headers, rows, indent = '  ') {
  const plain = (cell) => (typeof cell === 'string' ? cell : cell.text);
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => plain(row[i] ?? '').length)),
  );
  const line = (row, styleAll) => {
    // Trailing empty cells are dropped so no line ends in (coloured) padding.
    let end = row.length;
    while (end > 1 && plain(row[end - 1] ?? '') === '') end -= 1;
    const cells = row.slice(0, end);
    return (
      indent +
      cells
        .map((cell, i) => {
          const text = plain(cell ?? '');
          const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]);
          const style = styleAll ?? (typeof cell === 'string' ? undefined : cell.style);
          return style ? style(padded) : padded;
        })
        .join('  ')
        .trimEnd()
    );
  };
  say(line(headers, bold));
  for (const row of rows) say(line(row));
}

/** 35 → "35 ms", 1270 → "1.27 s", 125000 → "2 min 5 s". */
function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 90_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}

const offset = (ms) => `+${(ms / 1000).toFixed(3)} s`;

function errorText(error) {
  if (!error) return '';
  // Provider texts can be vague (Twilio's own text for 30008 is "Unknown error"), so the code
  // is added when the text does not already name it (as "503 Service Unavailable" does http_503).
  const named = [error.code, error.code.replace(/^[^_]*_/, '')].some((part) =>
    error.message.toLowerCase().includes(part.toLowerCase()),
  );
  return `${error.message}${named ? '' : ` (${error.code})`} [${error.category}]`;
}

/** A back-off as it would be at full speed: whole seconds are precise enough. */
function roughDuration(ms) {
  if (ms < 1000) return duration(ms);
  const seconds = Math.round(ms / 1000);
  return seconds < 90 ? `${seconds} s` : duration(seconds * 1000);
}

const statusStyle = (status) =>
  status === 'sent' || status === 'delivered'
    ? green
    : status === 'undelivered' || status === 'bounced' || status === 'not_sent'
      ? red
      : yellow;

// ---------------------------------------------------------------------------------------------
// HTTP and Kafka helpers.

async function http(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

async function kafkaLibraries() {
  const kafkajs = (await import('kafkajs')).default;
  const registryLib = (await import('@kafkajs/confluent-schema-registry')).default;
  const kafka = new kafkajs.Kafka({
    clientId: 'herald-demo',
    brokers: KAFKA_BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const registry = new registryLib.SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
  return { kafka, kafkajs, registry };
}

/**
 * Puts a MessageRequested straight on herald.messages.requested, as any program other than the
 * HTTP API would: Avro in the Confluent wire format, keyed by messageId. Ingest validates it
 * there, so a request the API would refuse with 400 becomes a `not_sent` message instead.
 */
async function produceRequest(request) {
  const { kafka, kafkajs, registry } = await kafkaLibraries();
  const schemaId = await registry.getLatestSchemaId(`${REQUESTS_TOPIC}-value`);
  const value = await registry.encode(schemaId, request);
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic: REQUESTS_TOPIC,
      acks: -1,
      messages: [{ key: request.messageId, value }],
    });
  } finally {
    await producer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

const RUN = Date.now().toString(36).slice(-6);
const idOf = (name) => `demo-${RUN}-${name}`;
const hookUrl = (script, name) => `${SIM}/hooks/${script}/${idOf(name)}`;
/** A fresh number per run: the simulator keeps registered scripts per recipient. */
const phone = () => `+1555${String(randomInt(10_000_000)).padStart(7, '0')}`;

const SCENARIOS = [
  { name: 'instant', story: 'webhook answers 200', script: 'ok', expect: 'sent' },
  { name: 'retried', story: '503 twice, then 200', script: 'fail-503-2', expect: 'sent' },
  {
    name: 'rate-limited',
    story: '429 + Retry-After: 1, then 200',
    script: 'retry-after-1-1',
    expect: 'sent',
  },
  { name: 'reset', story: 'connection reset once, then 200', script: 'reset-1', expect: 'sent' },
  { name: 'gives-up', story: '503 on every attempt', script: 'always-503', expect: 'undelivered' },
  {
    name: 'not-sent',
    story: 'unknown provider, put on Kafka directly',
    script: 'ok',
    provider: 'carrier-pigeon',
    viaKafka: true,
    expect: 'not_sent',
  },
  {
    name: 'rejected',
    story: 'recipient is not a URL',
    recipient: 'not-a-url',
    expect: 'rejected',
  },
  // One per channel and provider. The simulator answers each in the provider's own API; how is
  // scripted per recipient: registered beforehand (`register`, PUT /_sim/recipients/<r>) or
  // written into the recipient as `<script>+rest`. Unscripted, it accepts the message and
  // Twilio/SendGrid status lookups report delivered after 500 ms.
  {
    name: 'sms-delivered',
    story: 'Twilio reports delivered after 1.5 s',
    channel: 'sms',
    provider: 'twilio',
    recipient: phone(),
    register: { status: 'delivered-after-1500' },
    content: { text: 'Your Herald demo code is 123456' },
    expect: 'delivered',
  },
  {
    name: 'sms-bounced',
    story: 'Twilio reports failed after 1 s',
    channel: 'sms',
    provider: 'twilio',
    recipient: phone(),
    register: { status: 'failed-after-1000' },
    content: { text: 'This one never arrives' },
    expect: 'bounced',
  },
  {
    name: 'email-sendgrid',
    story: 'SendGrid reports delivered',
    channel: 'email',
    provider: 'sendgrid',
    recipient: `${idOf('email-sendgrid')}@sim.test`,
    content: { subject: 'Herald demo', text: 'Sent through SendGrid' },
    expect: 'delivered',
  },
  {
    // SMTP has no status lookup: the server taking the mail is as far as Herald can see.
    name: 'email-smtp',
    story: 'SMTP server takes the mail',
    channel: 'email',
    provider: 'smtp',
    recipient: `${idOf('email-smtp')}@sim.test`,
    content: { subject: 'Herald demo', text: 'Sent over SMTP' },
    expect: 'sent',
  },
  {
    // Slack's answer to chat.postMessage is itself the confirmation.
    name: 'chat-slack',
    story: 'Slack posts it',
    channel: 'chat',
    provider: 'slack',
    recipient: `C-${idOf('chat')}`,
    content: { text: 'Deploy finished' },
    expect: 'delivered',
  },
  {
    name: 'push-fcm',
    story: 'FCM accepts the push',
    channel: 'push',
    provider: 'fcm',
    recipient: `${idOf('fcm')}-token`,
    content: { title: 'Herald demo', text: 'Pushed through FCM' },
    expect: 'sent',
  },
  {
    name: 'push-apns',
    story: 'APNs: BadDeviceToken',
    channel: 'push',
    provider: 'apns',
    recipient: `error-BadDeviceToken-1+${idOf('apns')}-token`,
    content: { title: 'Herald demo', text: 'Never shown' },
    expect: 'undelivered',
  },
  {
    name: 'in-app',
    story: "stored in the recipient's feed",
    channel: 'in_app',
    provider: 'in_app',
    recipient: idOf('user'),
    content: { title: 'Herald demo', body: 'Shown in the in-app feed' },
    expect: 'delivered',
  },
];
const byName = new Map(SCENARIOS.map((scenario) => [scenario.name, scenario]));

const channelOf = (scenario) => scenario.channel ?? 'webhook';
const via = (scenario) => `${channelOf(scenario)}/${scenario.provider ?? 'webhook'}`;

function requestFor(scenario) {
  const webhook = channelOf(scenario) === 'webhook';
  return {
    messageId: idOf(scenario.name),
    tenantId: 'demo',
    channel: channelOf(scenario),
    provider: scenario.provider ?? 'webhook',
    recipient: scenario.recipient ?? hookUrl(scenario.script, scenario.name),
    content: scenario.content ?? {
      title: 'Herald demo',
      body: `scenario ${scenario.name}: ${scenario.story}`,
    },
    // Named explicitly for webhooks (they default to the `webhook` policy) so Knock's schedule
    // shows; every other channel defaults to knock, whose status-check schedule is used too.
    ...(webhook ? { retryPolicy: 'knock' } : {}),
    metadata: { demo: RUN, scenario: scenario.name },
  };
}

/** Registers a recipient's scripts with the simulator before its message is sent. */
async function register(recipient, scripts) {
  const url = `${SIM}/_sim/recipients/${encodeURIComponent(recipient)}`;
  const response = await http('PUT', url, scripts);
  if (response.status >= 300) {
    throw new Error(`PUT ${url} answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
}

/** Sends every scenario; returns one result per scenario: { messageId, accepted, problem }. */
async function sendAll() {
  heading(`Sending ${SCENARIOS.length} messages (run ${RUN})`);
  say(
    `  Every provider is the simulator at ${SIM} (APNs and SMTP on their own ports): a webhook's URL path\n` +
      `  tells it how to answer, other recipients are scripted by registration or a <script>+ prefix.`,
  );
  const results = new Map();
  const rows = [];
  for (const scenario of SCENARIOS) {
    const request = requestFor(scenario);
    if (scenario.register) await register(request.recipient, scenario.register);
    let how;
    let outcome;
    if (scenario.viaKafka) {
      how = `Kafka ${REQUESTS_TOPIC}`;
      try {
        await produceRequest({ ...request, requestedAt: Date.now() });
        outcome = { text: 'produced', style: green };
        results.set(scenario.name, { messageId: request.messageId, accepted: true });
      } catch (error) {
        outcome = { text: `not produced: ${error.message}`, style: red };
        results.set(scenario.name, { messageId: request.messageId, accepted: false, error });
      }
    } else {
      how = 'POST /v1/messages';
      const response = await http('POST', `${INGEST}/v1/messages`, request);
      if (response.status === 202) {
        outcome = { text: '202 Accepted', style: green };
        results.set(scenario.name, { messageId: response.json.messageId, accepted: true });
      } else if (response.status === 400) {
        const problems = (response.json?.problems ?? [])
          .map(({ field, problem }) => `${field}: ${problem}`)
          .join('; ');
        outcome = { text: `400 Bad Request — ${problems}`, style: yellow };
        results.set(scenario.name, { messageId: request.messageId, accepted: false, problems });
      } else {
        throw new Error(
          `POST ${INGEST}/v1/messages answered ${response.status}: ${response.text.slice(0, 300)}`,
        );
      }
    }
    rows.push([request.messageId, via(scenario), scenario.story, how, outcome]);
  }
  say();
  table(['MESSAGE', 'CHANNEL/PROVIDER', 'SCENARIO', 'SENT WITH', 'ANSWER'], rows);
  return results;
}

/** Polls GET /v1/messages/{id} until every accepted message is finished or the deadline passes. */
async function waitForFinal(results) {
  const windowMs = 30 * 60_000 * TIME_SCALE;
  heading('Waiting for every message to reach a final status');
  say(
    `  HERALD_TIME_SCALE=${TIME_SCALE}: retry delays run ${TIME_SCALE === 1 ? 'at full length' : `at ${TIME_SCALE}× their length`}, ` +
      `so Knock's 30-minute retry window takes ${windowMs < 10_000 ? `${(windowMs / 1000).toFixed(1).replace(/\.0$/, '')} s` : roughDuration(windowMs)}; deadline ${duration(TIMEOUT_MS)}.`,
  );
  const started = Date.now();
  // messageId → the status its scenario expects.
  const pending = new Map(
    [...results]
      .filter(([, result]) => result.accepted)
      .map(([name, result]) => [result.messageId, byName.get(name).expect]),
  );
  const width = Math.max(...[...pending.keys()].map((id) => id.length));
  const latest = new Map();
  while (pending.size > 0 && Date.now() - started < TIMEOUT_MS) {
    await Promise.all(
      [...pending].map(async ([messageId, expect]) => {
        const response = await http('GET', `${PROJECTOR}/v1/messages/${messageId}`);
        if (response.status === 404) return; // not projected yet
        if (response.status !== 200) {
          throw new Error(`GET /v1/messages/${messageId} answered ${response.status}`);
        }
        latest.set(messageId, response.json);
        if (isFinished(response.json.status, expect)) {
          pending.delete(messageId);
          const { status } = response.json;
          say(
            `  ${offset(Date.now() - started).padStart(10)}  ${messageId.padEnd(width)}  ` +
              `${statusStyle(status)(status)}${attemptsText(response.json, ' after ')}`,
          );
        }
      }),
    );
    if (pending.size > 0) await sleep(250);
  }
  return { latest, unfinished: [...pending.keys()] };
}

/** " after 2 attempts, 3 status checks"; empty before any attempt (not_sent). */
function attemptsText(message, lead) {
  const { attempts, statusChecks } = message;
  if (!attempts) return '';
  const checks = statusChecks ? `, ${plural(statusChecks, 'status check')}` : '';
  return `${lead}${plural(attempts, 'attempt')}${checks}`;
}

const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

async function eventsOf(messageId) {
  const response = await http('GET', `${PROJECTOR}/v1/messages/${messageId}/events`);
  return response.status === 200 ? response.json.events : [];
}

function printOutcomes(results, latest) {
  heading('Outcome');
  const rows = [];
  let mismatches = 0;
  for (const scenario of SCENARIOS) {
    const result = results.get(scenario.name);
    const message = latest.get(result.messageId);
    let status;
    let attempts = '-';
    let lastError = '';
    if (scenario.expect === 'rejected' && !result.accepted) {
      status = { text: '400 (never queued)', style: yellow };
      lastError = result.problems ?? '';
    } else if (!result.accepted) {
      status = { text: 'not sent', style: red };
      lastError = result.error?.message ?? result.problems ?? '';
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

/** `story`: a line on what the timeline shows, before the legend every timeline shares. */
async function printTimeline(messageId, story) {
  const events = await eventsOf(messageId);
  if (events.length === 0) return;
  const t0 = Date.parse(events[0].occurredAt);
  heading(`Event timeline of ${messageId} (GET /v1/messages/${messageId}/events)`);
  if (story) say(`  ${story}`);
  say(
    `  Times are offsets from the first event. WAIT is the back-off before the next attempt (or ` +
      `status check); AT FULL SPEED is that wait at HERALD_TIME_SCALE=1.`,
  );
  // Status checks are counted apart from send attempts: every event after `sent` (the checks and
  // the outcome a check found) carries a check number, so say which one a number counts.
  let checking = false;
  const rows = events.map((event) => {
    const at = Date.parse(event.occurredAt);
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
      next === null || TIME_SCALE === 1 ? '' : `≈ ${roughDuration((next - at) / TIME_SCALE)}`,
      event.error ? event.error.message : '',
    ];
  });
  table(
    ['SEQ', 'EVENT', 'ATTEMPT', 'AT', 'NEXT ATTEMPT AT', 'WAIT', 'AT FULL SPEED', 'ERROR'],
    rows,
  );
}

/** One line on how the 429's Retry-After stretched the wait beyond Knock's scaled back-off. */
async function printRetryAfterNote(messageId) {
  const events = await eventsOf(messageId);
  const failed = events.find((e) => e.type === 'delivery_attempted' && e.nextAttemptAt);
  const sent = events.find((e) => e.type === 'sent');
  if (!failed || !sent) return;
  const waited = Date.parse(sent.occurredAt) - Date.parse(failed.occurredAt);
  const knockMax = 7_000 * TIME_SCALE;
  say(
    `\n  Retry-After: ${messageId} got 429 with "Retry-After: 1"; attempt 2 ran ${duration(waited)} later, ` +
      `although Knock's first back-off at this time scale is at most ${duration(knockMax)}.`,
  );
}

/** The in-app recipient's feed: what an app would show, read back from the projector. */
async function printFeed(recipient) {
  const path = `/v1/recipients/${encodeURIComponent(recipient)}/feed`;
  const response = await http('GET', `${PROJECTOR}${path}`);
  heading(`In-app feed of ${recipient} (GET ${path})`);
  if (response.status !== 200) {
    say(red(`  GET ${path} answered ${response.status}: ${response.text.slice(0, 300)}`));
    return;
  }
  const rows = response.json.items.map((item) => [
    item.id,
    item.createdAt,
    Object.entries(item.content)
      .map(([key, value]) => `${key}: ${value}`)
      .join(', '),
  ]);
  if (rows.length === 0) say(yellow('  (empty)'));
  else table(['MESSAGE', 'CREATED AT', 'CONTENT'], rows);
}

function printWhereToLook(results) {
  const retried = results.get('retried').messageId;
  const sms = results.get('sms-delivered').messageId;
  const feedOf = encodeURIComponent(byName.get('in-app').recipient);
  const fromHere = relative(process.cwd(), LOG_DIR);
  const logs = fromHere.startsWith('..') ? LOG_DIR : fromHere || '.';
  heading('Where to look next');
  const rows = [
    ['Message (status, attempts, last error)', `curl -s ${PROJECTOR}/v1/messages/${retried}`],
    ['Its event timeline', `curl -s ${PROJECTOR}/v1/messages/${retried}/events`],
    ['Its provider requests and responses', `curl -s ${PROJECTOR}/v1/messages/${retried}/logs`],
    ["The SMS's Twilio send and status lookups", `curl -s ${PROJECTOR}/v1/messages/${sms}/logs`],
    ["The in-app recipient's feed", `curl -s ${PROJECTOR}/v1/recipients/${feedOf}/feed`],
    [
      'Undelivered webhooks, newest first',
      `curl -s '${PROJECTOR}/v1/messages?status=undelivered&channel=webhook'`,
    ],
    ['The API (OpenAPI document)', `curl -s ${PROJECTOR}/docs`],
    ['What the simulator received', `curl -s '${SIM}/_sim/requests?prefix=/hooks/'`],
    [
      'Send one yourself',
      `curl -s -X POST ${INGEST}/v1/messages -H 'content-type: application/json' -d ` +
        `'{"channel":"webhook","provider":"webhook","recipient":"${SIM}/hooks/ok/mine","content":{"text":"hi"}}'`,
    ],
  ];
  table(['WHAT', 'HOW'], rows);
  say(
    `\n  Service logs: ${logs}/ingest.log, sender.log, status-checker.log, projector.log, provider-sim.log`,
  );
  const envPrefix = `KAFKA_BROKERS=${KAFKA_BROKERS.join(',')} SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL} `;
  say(
    `  Events topic, decoded, live (Ctrl-C stops): ${envPrefix}node scripts/demo.mjs events --from-beginning`,
  );
}

async function runDemo() {
  const results = await sendAll();
  const { latest, unfinished } = await waitForFinal(results);
  const mismatches = printOutcomes(results, latest);
  await printTimeline(results.get('gives-up').messageId);
  await printRetryAfterNote(results.get('rate-limited').messageId);
  await printTimeline(
    results.get('sms-delivered').messageId,
    'Twilio took the SMS (sent); the status checker then asked Twilio for its status until it ' +
      'answered delivered.',
  );
  await printFeed(byName.get('in-app').recipient);
  printWhereToLook(results);
  if (unfinished.length > 0) {
    say(
      red(
        `\n${unfinished.length} message(s) did not reach a final status within ${duration(TIMEOUT_MS)}: ` +
          `${unfinished.join(', ')}. The service logs above say why.`,
      ),
    );
    return 1;
  }
  if (mismatches > 0) {
    say(red(`\n${mismatches} message(s) did not end as expected.`));
    return 1;
  }
  say(green(`\nAll ${SCENARIOS.length} messages ended as expected.`));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// `events`: a decoded tail of herald.message-events (its values are Avro, unreadable raw).

async function watchEvents(fromBeginning) {
  const { kafka, registry } = await kafkaLibraries();
  // A throwaway group, deleted on exit, so Herald's own groups are never touched.
  const groupId = `herald-demo-events-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const admin = kafka.admin();
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await consumer.disconnect().catch(() => {});
    await admin.connect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  await consumer.connect();
  await consumer.subscribe({ topic: EVENTS_TOPIC, fromBeginning });
  console.error(
    dim(
      `Reading ${EVENTS_TOPIC} at ${KAFKA_BROKERS.join(',')}${fromBeginning ? ' from the beginning' : ''}; Ctrl-C stops.`,
    ),
  );
  say(
    bold(
      'OCCURRED AT               MESSAGE                               SEQ  EVENT                   ATTEMPT  NEXT ATTEMPT AT           ERROR',
    ),
  );
  await consumer.run({
    eachMessage: async ({ message }) => {
      let event;
      try {
        event = await registry.decode(message.value);
      } catch (error) {
        say(red(`(offset ${message.offset}: cannot decode: ${error.message})`));
        return;
      }
      const iso = (ms) =>
        ms === null || ms === undefined ? '' : new Date(Number(ms)).toISOString();
      say(
        [
          iso(event.occurredAt).padEnd(24),
          String(event.messageId).padEnd(36),
          String(event.seq).padStart(4),
          statusStyle(event.status)(String(event.type).padEnd(22)),
          String(event.attempt).padStart(7),
          iso(event.nextAttemptAt).padEnd(24),
          event.error ? `${event.error.message} (${event.error.category})` : '',
        ]
          .join('  ')
          .trimEnd(),
      );
    },
  });
}

// ---------------------------------------------------------------------------------------------

const [command = 'run', ...flags] = process.argv.slice(2);
try {
  if (command === 'run') {
    process.exitCode = await runDemo();
  } else if (command === 'events') {
    await watchEvents(flags.includes('--from-beginning'));
  } else {
    console.error('usage: node scripts/demo.mjs [run | events [--from-beginning]]');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(red(`demo failed: ${error.message}`));
  process.exitCode = 1;
}
