// The fifteen messages the demo sends, each taking a different path through the pipeline, and
// the status each is expected to end in.

import { randomInt } from 'node:crypto';
import { isTerminal } from '@herald/delivery-status';
import type { Channel, DeliveryStatus, MessageRequested } from '@herald/messages';
import { DEMO_TENANT } from './target';

export interface Scenario {
  name: string;
  /** What happens to it, as the tables say. */
  story: string;
  /** `rejected`: the API refuses it with 400, so it never gets a status. */
  expect: DeliveryStatus | 'rejected';
  /** Webhooks: the simulator's script, which is the first segment of the hook's URL path. */
  script?: string;
  channel?: Channel;
  provider?: string;
  recipient?: string;
  /** Registered with the simulator (PUT /_sim/recipients/<recipient>) before it is sent. */
  register?: { send?: string; status?: string; check?: string };
  content?: Record<string, string>;
  /** Put on herald.messages.requested directly instead of POSTed to the API. */
  viaKafka?: boolean;
}

/** The body of POST /v1/messages; a Kafka producer adds `requestedAt`. */
export type MessageRequest = Omit<MessageRequested, 'retryPolicy' | 'requestedAt'> & {
  retryPolicy?: string;
};

/** What became of sending one message. */
export interface SendResult {
  messageId: string;
  accepted: boolean;
  /** The 400's problems, `field: problem; …`. */
  problems?: string;
  error?: unknown;
}

/** Finished: what the scenario expects, or a status nothing follows (`sent` is not one). */
export const isFinished = (status: DeliveryStatus, expect: Scenario['expect']): boolean =>
  status === expect || isTerminal(status);

/** Names this run's messages apart from earlier runs' in the same read model. */
export class DemoRun {
  readonly id = Date.now().toString(36).slice(-6);
  readonly scenarios: readonly Scenario[];
  private readonly byName: ReadonlyMap<string, Scenario>;

  /** simUrl: the simulator's HTTP listener, where webhooks point. */
  constructor(private readonly simUrl: string) {
    this.scenarios = scenarios((name) => this.idOf(name));
    this.byName = new Map(this.scenarios.map((scenario) => [scenario.name, scenario]));
  }

  idOf(name: string): string {
    return `demo-${this.id}-${name}`;
  }

  scenario(name: string): Scenario {
    const found = this.byName.get(name);
    if (!found) throw new Error(`no scenario named ${name}`);
    return found;
  }

  request(scenario: Scenario): MessageRequest {
    const channel = channelOf(scenario);
    const provider = scenario.provider ?? 'webhook';
    return {
      messageId: this.idOf(scenario.name),
      tenantId: DEMO_TENANT,
      channel,
      provider,
      // A chain of just the one provider: the same as none on Kafka, and unlike `[]` (which the
      // API refuses, a chain names at least one) accepted by POST /v1/messages too.
      providers: [provider],
      recipient:
        scenario.recipient ??
        `${this.simUrl}/hooks/${scenario.script ?? 'ok'}/${this.idOf(scenario.name)}`,
      content: scenario.content ?? {
        title: 'Herald demo',
        body: `scenario ${scenario.name}: ${scenario.story}`,
      },
      // Named explicitly for webhooks (they default to the `webhook` policy) so Knock's schedule
      // shows; every other channel defaults to knock, whose status-check schedule is used too.
      ...(channel === 'webhook' ? { retryPolicy: 'knock' } : {}),
      metadata: { demo: this.id, scenario: scenario.name },
    };
  }
}

const channelOf = (scenario: Scenario): Channel => scenario.channel ?? 'webhook';
export const via = (scenario: Scenario): string =>
  `${channelOf(scenario)}/${scenario.provider ?? 'webhook'}`;

/** A fresh number per run: the simulator keeps registered scripts per recipient. */
const phone = (): string => `+1555${String(randomInt(10_000_000)).padStart(7, '0')}`;

function scenarios(idOf: (name: string) => string): Scenario[] {
  return [
    { name: 'instant', story: 'webhook answers 200', script: 'ok', expect: 'sent' },
    { name: 'retried', story: '503 twice, then 200', script: 'fail-503-2', expect: 'sent' },
    {
      name: 'rate-limited',
      story: '429 + Retry-After: 1, then 200',
      script: 'retry-after-1-1',
      expect: 'sent',
    },
    { name: 'reset', story: 'connection reset once, then 200', script: 'reset-1', expect: 'sent' },
    {
      name: 'gives-up',
      story: '503 on every attempt',
      script: 'always-503',
      expect: 'undelivered',
    },
    {
      // Ingest validates what arrives on Kafka too, so a request the API would refuse with 400
      // becomes a `not_sent` message instead.
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
}
