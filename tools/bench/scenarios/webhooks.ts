/**
 * Herald's outbound webhooks: deliveries per second to one tenant's endpoints with 1 endpoint
 * and with `settings.webhookEndpoints` (every message is delivered to each, so that run has as
 * many deliveries from 1/100 as many messages), and the delivery latency (the `sent` event →
 * the endpoint has it) at half the 1-endpoint rate. Each run gets fresh services with the
 * webhooks service, like every Herald scenario; the endpoints are on a simulator of their own
 * with recording on (its recordings are the measurement), while the messages go to the run's
 * instant-answering simulator, as in the instant run.
 */

import { apiKeysEnv, newTenantKey, type TenantKey } from '@tools/harness';
import type { BenchContext } from '../context';
import { describeBacklogs, WEBHOOK_STAGES } from '../herald/backlogs';
import {
  BENCH_KEY,
  startSimulator,
  stopBenchProcess,
  WEBHOOKS_SERVICE,
  type HeraldServices,
} from '../herald/services';
import {
  createEndpoints,
  measureDeliveryBurst,
  measureDeliveryPaced,
  Receivers,
  warmUpDeliveries,
  type WebhookRun,
} from '../herald/webhook-deliveries';
import { errorMessage, say } from '../log';
import { recordRss } from '../results';
import { formatDeliveryRate, formatInt, formatMs, formatRate } from '../stats';
import { withFreshServices } from './herald-scenario';

export interface WebhooksResult {
  oneEndpoint?: WebhookRun;
  manyEndpoints?: WebhookRun;
  halfLoad?: WebhookRun;
}

/** What one webhooks run works with: the receivers, and the tenant whose endpoints they are. */
interface WebhooksSetup {
  receivers: Receivers;
  tenant: TenantKey;
}

/** Undefined when the receivers' simulator cannot start (recorded as a failure). */
export async function webhookDeliveries(
  context: BenchContext,
): Promise<WebhooksResult | undefined> {
  const { settings, runId, logDir, results, failures } = context;
  const receiverSim = await startSimulator({ logDir, label: 'receivers', recording: true }).catch(
    (error: unknown) => {
      failures.push(`herald webhooks: simulator: ${errorMessage(error)}`);
      return undefined;
    },
  );
  if (!receiverSim) return undefined;
  // A tenant of this run's own: its endpoints are the only ones its messages are delivered to.
  const setup = {
    receivers: new Receivers(receiverSim.url),
    tenant: newTenantKey(`${runId}-webhooks`),
  };
  const result: WebhooksResult = {};
  try {
    result.oneEndpoint = await deliveryBurst(context, setup, {
      name: 'webhooks-1',
      endpoints: 1,
      messages: settings.webhookDeliveries,
    });
    result.manyEndpoints = await deliveryBurst(context, setup, {
      name: `webhooks-${settings.webhookEndpoints}`,
      endpoints: settings.webhookEndpoints,
      messages: Math.ceil(settings.webhookDeliveries / settings.webhookEndpoints),
    });
    result.halfLoad = await deliveryLatency(context, setup, result.oneEndpoint);
  } finally {
    recordRss(results, 'provider-sim', await stopBenchProcess(receiverSim), 'webhooks');
  }
  return result;
}

/** Fresh services with the webhooks service, which takes the tenant's key. */
function withWebhooks<T>(
  context: BenchContext,
  setup: WebhooksSetup,
  name: string,
  body: (services: HeraldServices) => Promise<T>,
): Promise<T | undefined> {
  return withFreshServices(context, name, body, {
    extra: [WEBHOOKS_SERVICE],
    env: apiKeysEnv([BENCH_KEY, setup.tenant]),
  });
}

/**
 * The run's endpoints created (on a receivers' simulator reset for it), then a warm-up whose
 * messages are delivered too: `settings.warmUp` deliveries in all, so the warm-up of the
 * many-endpoint run is as long as the others'.
 */
async function prepareEndpoints(
  context: BenchContext,
  setup: WebhooksSetup,
  services: HeraldServices,
  name: string,
  endpoints: number,
): Promise<void> {
  const { settings, runId, sim, producer, notes } = context;
  await setup.receivers.reset();
  await createEndpoints(services, setup.receivers, setup.tenant, endpoints);
  const count = Math.ceil(settings.warmUp / endpoints);
  // The fan-out may first have to catch up on every event the scenarios before this one made.
  const timeoutMs = Math.max(120_000, settings.warmUpTimeoutMs);
  const missing = await warmUpDeliveries(services, producer, setup.receivers, {
    simUrl: sim.url,
    tenantId: setup.tenant.tenantId,
    idPrefix: `${runId}-${name}-warmup`,
    endpoints,
    count,
    timeoutMs,
  });
  if (missing > 0) {
    const note =
      `${name}: ${missing} of ${(count + 1) * endpoints} warm-up deliveries had not arrived ` +
      `after ${timeoutMs / 1000} s; the run went on with them in flight`;
    say(`  ${note}`);
    notes.push(note);
  }
}

/** A timed burst to `endpoints` endpoints: its rate said, an incomplete run recorded as a failure. */
function deliveryBurst(
  context: BenchContext,
  setup: WebhooksSetup,
  run: { name: string; endpoints: number; messages: number },
): Promise<WebhookRun | undefined> {
  const { settings, runId, sim, producer } = context;
  const { name, endpoints, messages } = run;
  return withWebhooks(context, setup, name, async (services) => {
    await prepareEndpoints(context, setup, services, name, endpoints);
    say(
      `herald ${name}: ${formatInt(messages)} messages × ${endpoints} endpoint(s) = ` +
        `${formatInt(messages * endpoints)} deliveries (at most ${settings.webhookTimeoutMs / 1000} s)`,
    );
    const result = await measureDeliveryBurst(services, producer, setup.receivers, {
      simUrl: sim.url,
      tenantId: setup.tenant.tenantId,
      idPrefix: `${runId}-${name}`,
      endpoints,
      messages,
      timeoutMs: settings.webhookTimeoutMs,
    });
    say(
      `  ${formatDeliveryRate(result.perSecond)} (${formatInt(result.delivered)} in ` +
        `${result.seconds.toFixed(2)} s first → last received, ${result.sinceProduceSeconds.toFixed(2)} s ` +
        `from the first produce); sent → received p50/p99 ${formatMs(result.latency.p50)} / ` +
        `${formatMs(result.latency.p99)}`,
    );
    if (result.backlogs) {
      const profile = describeBacklogs(result.backlogs, WEBHOOK_STAGES);
      say(`  backlog per stage: ${profile}`);
      context.notes.push(
        `${name}: backlog per stage (records consumed but not committed): ${profile}`,
      );
    }
    reportRun(context, name, result);
    return result;
  });
}

/** Skipped, as a failure, without the 1-endpoint rate to halve. */
async function deliveryLatency(
  context: BenchContext,
  setup: WebhooksSetup,
  oneEndpoint: WebhookRun | undefined,
): Promise<WebhookRun | undefined> {
  const { settings, runId, sim, producer, failures, notes } = context;
  const name = 'webhooks-halfload';
  if (!oneEndpoint || !Number.isFinite(oneEndpoint.perSecond)) {
    failures.push(`herald ${name}: skipped, it needs the 1-endpoint delivery rate`);
    return undefined;
  }
  // With one endpoint a delivery is a message: half the deliveries/s is half the messages/s.
  // At least 1/s, so a Herald that barely moves still gets its latency measured.
  const rate = Math.max(1, oneEndpoint.perSecond / 2);
  if (!oneEndpoint.complete) {
    notes.push(
      `${name}: the 1-endpoint run was incomplete, so "half load" is ${formatRate(rate)} ` +
        '(half its partial rate, at least 1 msg/s)',
    );
  }
  return withWebhooks(context, setup, name, async (services) => {
    await prepareEndpoints(context, setup, services, name, 1);
    say(`herald ${name}: ${formatRate(rate)} to 1 endpoint for ${settings.halfLoadSeconds} s`);
    const result = await measureDeliveryPaced(services, producer, setup.receivers, {
      simUrl: sim.url,
      tenantId: setup.tenant.tenantId,
      idPrefix: `${runId}-${name}`,
      endpoints: 1,
      rate,
      seconds: settings.halfLoadSeconds,
      graceMs: 30_000,
    });
    say(
      `  sent → received p50/p95/p99 ${formatMs(result.latency.p50)} / ` +
        `${formatMs(result.latency.p95)} / ${formatMs(result.latency.p99)} ` +
        `(${formatInt(result.delivered)} deliveries, produced at ${formatRate(result.producedRate ?? NaN)})`,
    );
    reportRun(context, name, result);
    return result;
  });
}

/**
 * What the webhooks service counted, said; anything but one verified delivery per endpoint
 * and message noted. A run that did not get them all within its time limit is noted, not
 * failed: its rate is still the rate of what arrived, and a time limit is no assertion.
 */
function reportRun(context: BenchContext, name: string, result: WebhookRun): void {
  const { notes } = context;
  const { service } = result;
  say(
    `  webhooks service: ${formatInt(service.succeeded)} succeeded, ${formatInt(service.retrying)} ` +
      `retrying, ${formatInt(service.failed)} failed, ${formatInt(service.dropped)} dropped; ` +
      `${formatInt(service.deferred)} deferred (endpoint busy), ${formatInt(service.handedOff)} handed off`,
  );
  if (service.deferred > 0 || service.handedOff > 0 || service.retrying > 0) {
    notes.push(
      `${name}: the webhooks service deferred ${formatInt(service.deferred)} deliveries (their ` +
        `endpoint had its most calls in flight), handed off ${formatInt(service.handedOff)} slow ` +
        `calls and scheduled ${formatInt(service.retrying)} retries`,
    );
  }
  if (result.refused > 0 || result.repeated > 0 || result.unreadable > 0) {
    notes.push(
      `${name}: the receivers refused ${result.refused} deliveries (signature not verified), got ` +
        `${result.repeated} again and could not read ${result.unreadable}`,
    );
  }
  if (!result.complete) {
    const note =
      `${name}: incomplete, ${formatInt(result.delivered)} of ${formatInt(result.expected)} ` +
      'deliveries had arrived at the time limit; the rate is that of those';
    say(`  ${note}`);
    notes.push(note);
  }
}
