/**
 * What every Herald scenario does around its measurement: freshly started services (their
 * metrics start at zero, their peak RSS is the scenario's) on the scenario's own database,
 * stopped, dropped and cleaned up after it whatever happened; and the warm-up and timed burst
 * the throughput scenarios share.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@herald/config';
import type { BenchContext } from '../context';
import { describeBacklogs } from '../herald/backlogs';
import { measureBurst, warmUp, type Throughput } from '../herald/load';
import { HeraldServices } from '../herald/services';
import { errorMessage, say } from '../log';
import { recordRss } from '../results';
import { dropDatabase, leaveTopicsClean, scenarioServers } from '../servers';
import { formatInt, formatRate } from '../stats';

/**
 * Runs `body` on fresh services (with `options.extra` services besides the usual four, and
 * `options.env` added to their environment). A failure is recorded (undefined is returned)
 * rather than thrown, so the next scenario still runs.
 */
export async function withFreshServices<T>(
  context: BenchContext,
  name: string,
  body: (services: HeraldServices) => Promise<T>,
  options: { extra?: readonly ServiceName[]; env?: Record<string, string> } = {},
): Promise<T | undefined> {
  const { runId, logDir, servers, producer, results, failures, notes } = context;
  say(`herald ${name}: starting the services`);
  let services: HeraldServices | undefined;
  const ownServers = scenarioServers(servers, runId, name);
  try {
    services = await HeraldServices.start({
      servers: ownServers,
      runId,
      scenario: name,
      logDir,
      ...options,
    });
    await services.assertProjectorMetrics();
    return await body(services);
  } catch (error) {
    failures.push(`herald ${name}: ${errorMessage(error).split('\n')[0]}`);
    say(`  failed: ${errorMessage(error)}`);
    return undefined;
  } finally {
    if (services) {
      for (const [service, bytes] of await services.stop()) {
        recordRss(results, service, bytes, name);
      }
      const findings = services.logFindings();
      if (findings) notes.push(`${name}, in the service logs: ${findings}`);
    }
    await dropDatabase(ownServers.mongoUri).catch((error: unknown) =>
      notes.push(`dropping ${ownServers.mongoUri} failed: ${errorMessage(error)}`),
    );
    await Promise.race([
      leaveTopicsClean(producer.client, runId, notes),
      sleep(150_000).then(() => {
        throw new Error('gave up after 150 s');
      }),
    ]).catch((error: unknown) =>
      notes.push(`checking for unfinished records of this run failed: ${errorMessage(error)}`),
    );
  }
}

/**
 * The scenario's warm-up on the load simulator: the probe message, then `count` more (0 for
 * the probe only).
 */
export function warmUpScenario(
  context: BenchContext,
  services: HeraldServices,
  name: string,
  count: number,
  latencyMs = 0,
): ReturnType<typeof warmUp> {
  const { runId, settings, sim, producer } = context;
  return warmUp(services, producer, {
    simUrl: sim.url,
    tenantId: `${runId}-warmup`,
    idPrefix: `${runId}-${name}-warmup`,
    count,
    latencyMs,
    timeoutMs: settings.warmUpTimeoutMs,
  });
}

/** The full warm-up before a burst; returns the warm-up messages still unsent at its time limit (0 normally). */
async function warmUpForBurst(
  context: BenchContext,
  services: HeraldServices,
  name: string,
  latencyMs: number,
): Promise<number> {
  const { settings, notes } = context;
  const { quiet, leftover } = await warmUpScenario(
    context,
    services,
    name,
    settings.warmUp,
    latencyMs,
  );
  if (leftover > 0) {
    const note =
      `${name}: warm-up unfinished after ${settings.warmUpTimeoutMs / 1000} s ` +
      `(${leftover} of ${settings.warmUp} unsent); they are counted in the measurement`;
    say(`  ${note}`);
    notes.push(note);
  } else if (!quiet) {
    notes.push(`${name}: the pipeline never went quiet after warm-up (someone else producing?)`);
  }
  return leftover;
}

/**
 * The full warm-up, then a timed burst: its rate and backlog profile said, an incomplete run
 * recorded as a failure. Warm-up messages still unsent at its time limit are counted in.
 */
export async function timedBurst(
  context: BenchContext,
  services: HeraldServices,
  run: { name: string; messages: number; latencyMs: number; timeoutMs: number },
): Promise<Throughput> {
  const { runId, sim, producer, failures, notes } = context;
  const { name, messages, latencyMs, timeoutMs } = run;
  const leftover = await warmUpForBurst(context, services, name, latencyMs);
  say(`herald ${name}: ${formatInt(messages)} messages (at most ${timeoutMs / 1000} s)`);
  const result = await measureBurst(services, producer, {
    simUrl: sim.url,
    tenantId: runId,
    idPrefix: `${runId}-${name}`,
    messages,
    latencyMs,
    timeoutMs,
    leftover,
    mongoUri: context.servers.mongoUri,
  });
  say(`  ${formatRate(result.perSecond)} (${result.seconds.toFixed(2)} s)`);
  if (result.backlogs) {
    const profile = describeBacklogs(result.backlogs);
    say(`  backlog per stage: ${profile}`);
    say(
      '  per second (ingest/sender/projector): ' +
        result.backlogs
          .map((b) => `${b.backlog.ingest}/${b.backlog.sender}/${b.backlog.projector}`)
          .join(' '),
    );
    notes.push(`${name}: backlog per stage (records consumed but not committed): ${profile}`);
  }
  if (!result.complete) {
    failures.push(
      `herald ${name}: incomplete, ${formatInt(result.messages)} of ${formatInt(result.produced ?? messages)} ` +
        `sent in ${result.seconds.toFixed(0)} s`,
    );
  }
  return result;
}
