// The part of the demo that talks to a running Herald: sends the scripted messages, waits
// (polling the read API, with a deadline) until every one has a final status, and reports.

import { setTimeout as sleep } from 'node:timers/promises';
import { RequestPublisher } from '@herald/kafka';
import type { MessageRequested } from '@herald/messages';
import type { ApiMessage } from '@herald/read-model';
import { TOPICS } from '@herald/topics';
import { DemoRun, isFinished, via, type MessageRequest, type SendResult } from './messages';
import {
  duration,
  errorMessage,
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
import { runControls } from './controls';
import { report } from './report';
import { demoCodec, demoKafka, http, type Target } from './target';
import { registerEndpoints, reportWebhooks } from './webhooks';

/**
 * Puts a MessageRequested straight on herald.messages.requested, as any program other than the
 * HTTP API would: through the publisher ingest uses (Avro in the Confluent wire format, the
 * schema ingest registers, keyed by messageId).
 */
async function produceRequest(target: Target, request: MessageRequested): Promise<void> {
  const codec = demoCodec(target.schemaRegistryUrl);
  // The same schema ingest registered at start, so this finds its id rather than adding one.
  await codec.register([TOPICS.messagesRequested]);
  const publisher = new RequestPublisher(demoKafka(target.kafkaBrokers), codec);
  await publisher.connect();
  try {
    await publisher.publish(request);
  } finally {
    await publisher.disconnect();
  }
}

/** Registers a recipient's scripts with the simulator before its message is sent. */
async function register(target: Target, recipient: string, scripts: object): Promise<void> {
  const url = `${target.sim}/_sim/recipients/${encodeURIComponent(recipient)}`;
  const response = await http('PUT', url, scripts);
  if (response.status >= 300) {
    throw new Error(`PUT ${url} answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
}

/** Sends every scenario's message; one result per scenario name. */
async function sendAll(target: Target, run: DemoRun): Promise<Map<string, SendResult>> {
  heading(`Sending ${run.scenarios.length} messages (run ${run.id})`);
  say(
    `  Every provider is the simulator at ${target.sim} (APNs and SMTP on their own ports): a webhook's URL path\n` +
      `  tells it how to answer, other recipients are scripted by registration or a <script>+ prefix.`,
  );
  const results = new Map<string, SendResult>();
  const rows: Cell[][] = [];
  for (const scenario of run.scenarios) {
    const request = run.request(scenario);
    if (scenario.register) await register(target, request.recipient, scenario.register);
    const { how, outcome, result } = scenario.viaKafka
      ? await sendViaKafka(target, request)
      : await sendViaApi(target, request);
    results.set(scenario.name, result);
    rows.push([request.messageId, via(scenario), scenario.story, how, outcome]);
  }
  say();
  table(['MESSAGE', 'CHANNEL/PROVIDER', 'SCENARIO', 'SENT WITH', 'ANSWER'], rows);
  return results;
}

interface Sent {
  how: string;
  outcome: Cell;
  result: SendResult;
}

async function sendViaKafka(target: Target, request: MessageRequest): Promise<Sent> {
  const how = `Kafka ${TOPICS.messagesRequested.name}`;
  const { messageId } = request;
  try {
    await produceRequest(target, {
      ...request,
      retryPolicy: request.retryPolicy ?? null,
      requestedAt: Date.now(),
    });
    return {
      how,
      outcome: { text: 'produced', style: green },
      result: { messageId, accepted: true },
    };
  } catch (error) {
    return {
      how,
      outcome: { text: `not produced: ${errorMessage(error)}`, style: red },
      result: { messageId, accepted: false, error },
    };
  }
}

async function sendViaApi(target: Target, request: MessageRequest): Promise<Sent> {
  const how = 'POST /v1/messages';
  const response = await http<{
    messageId?: string;
    problems?: { field: string; problem: string }[];
  }>('POST', `${target.ingest}/v1/messages`, request, target.apiKey);
  if (response.status === 202) {
    const messageId = response.json?.messageId ?? request.messageId;
    return {
      how,
      outcome: { text: '202 Accepted', style: green },
      result: { messageId, accepted: true },
    };
  }
  if (response.status === 400) {
    const problems = (response.json?.problems ?? [])
      .map(({ field, problem }) => `${field}: ${problem}`)
      .join('; ');
    return {
      how,
      outcome: { text: `400 Bad Request — ${problems}`, style: yellow },
      result: { messageId: request.messageId, accepted: false, problems },
    };
  }
  throw new Error(
    `POST ${target.ingest}/v1/messages answered ${response.status}: ${response.text.slice(0, 300)}`,
  );
}

/** Polls GET /v1/messages/{id} until every accepted message is finished or the deadline passes. */
async function waitForFinal(
  target: Target,
  run: DemoRun,
  results: Map<string, SendResult>,
): Promise<{ latest: Map<string, ApiMessage>; unfinished: string[] }> {
  const { timeScale, timeoutMs } = target;
  const windowMs = 30 * 60_000 * timeScale;
  heading('Waiting for every message to reach a final status');
  const speed = timeScale === 1 ? 'at full length' : `at ${timeScale}× their length`;
  const window =
    windowMs < 10_000
      ? `${(windowMs / 1000).toFixed(1).replace(/\.0$/, '')} s`
      : roughDuration(windowMs);
  say(
    `  HERALD_TIME_SCALE=${timeScale}: retry delays run ${speed}, ` +
      `so Knock's 30-minute retry window takes ${window}; deadline ${duration(timeoutMs)}.`,
  );
  const started = Date.now();
  // messageId → the status its scenario expects.
  const pending = new Map(
    [...results]
      .filter(([, result]) => result.accepted)
      .map(([name, result]) => [result.messageId, run.scenario(name).expect]),
  );
  const width = Math.max(...[...pending.keys()].map((id) => id.length));
  const latest = new Map<string, ApiMessage>();
  while (pending.size > 0 && Date.now() - started < timeoutMs) {
    await Promise.all(
      [...pending].map(async ([messageId, expect]) => {
        const response = await http<ApiMessage>(
          'GET',
          `${target.projector}/v1/messages/${messageId}`,
          undefined,
          target.apiKey,
        );
        if (response.status === 404) return; // not projected yet
        if (response.status !== 200 || !response.json) {
          throw new Error(`GET /v1/messages/${messageId} answered ${response.status}`);
        }
        const message = response.json;
        latest.set(messageId, message);
        if (isFinished(message.status, expect)) {
          pending.delete(messageId);
          say(
            `  ${offset(Date.now() - started).padStart(10)}  ${messageId.padEnd(width)}  ` +
              `${statusStyle(message.status)(message.status)}${attemptsText(message)}`,
          );
        }
      }),
    );
    if (pending.size > 0) await sleep(250);
  }
  return { latest, unfinished: [...pending.keys()] };
}

/** " after 2 attempts, 3 status checks"; empty before any attempt (not_sent). */
function attemptsText({ attempts, statusChecks }: ApiMessage): string {
  if (!attempts) return '';
  const checks = statusChecks ? `, ${plural(statusChecks, 'status check')}` : '';
  return ` after ${plural(attempts, 'attempt')}${checks}`;
}

/** Sends, waits, reports; the exit code: 0 when every message ended as expected. */
export async function runScenarios(target: Target): Promise<number> {
  const run = new DemoRun(target.sim);
  const endpoints = await registerEndpoints(target, run.id);
  const results = await sendAll(target, run);
  const { latest, unfinished } = await waitForFinal(target, run, results);
  const mismatches = await report(target, run, results, latest);
  const webhookProblems = await reportWebhooks(
    target,
    endpoints,
    [...latest.values()].filter((message) => !unfinished.includes(message.id)),
  );
  // After the webhooks report, so its counts hold only the fifteen messages' events.
  const controlFailures = await runControls(target, run.id);
  if (unfinished.length > 0) {
    say(
      red(
        `\n${unfinished.length} message(s) did not reach a final status within ${duration(target.timeoutMs)}: ` +
          `${unfinished.join(', ')}. The service logs above say why.`,
      ),
    );
    return 1;
  }
  if (mismatches > 0) {
    say(red(`\n${mismatches} message(s) did not end as expected.`));
    return 1;
  }
  if (webhookProblems > 0) return 1;
  if (controlFailures > 0) {
    say(red(`\n${controlFailures} message control(s) did not end as expected.`));
    return 1;
  }
  say(
    green(
      `\nAll ${run.scenarios.length} messages ended as expected, their events reached the webhook endpoints, and the cancel, resend and failover did what they say.`,
    ),
  );
  return 0;
}
