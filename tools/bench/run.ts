/**
 * npm run bench [-- --quick] [-- --only <scenario>,...]
 *
 * Measures Herald end to end on this machine against the real local servers and the provider
 * simulator, side by side with two baselines run on the same broker in the same run (a minimal
 * kafkajs consume → POST → produce loop, and BullMQ over Redis), prints a table, appends it to
 * tools/bench/RESULTS.md with the date, machine, versions and commit, and exits non-zero if a
 * run failed to complete or any retry fired early. Targets missed are reported, not failed.
 *
 * Each Herald scenario gets freshly started services (their metrics start at zero, and their
 * peak RSS is the scenario's), one instance of each, against its own MongoDB database; the
 * webhooks scenario adds the webhooks service, its endpoints on a simulator of their own. The
 * scenarios are in scenarios/, the Herald runner in herald/, the report in report.ts.
 */

import { relative } from 'node:path';
import { killAllStarted, REPO_ROOT } from '@tools/harness';
import type { Cleanups } from './cleanups';
import { newRun, prepare } from './context';
import { errorMessage, say, wallSeconds } from './log';
import { parseArguments, plan, USAGE, type Scenario } from './plan';
import { writeReport } from './report';
import { bullmqBaseline, bullmqMongoPeer, kafkajsBaseline } from './scenarios/baselines';
import { halfLoadLatency } from './scenarios/halfload';
import { instantThroughput } from './scenarios/instant';
import { slowProviderThroughput } from './scenarios/latency100';
import { retryPrecision } from './scenarios/retry';
import { apiKeyCost } from './scenarios/apikey';
import { webhookDeliveries } from './scenarios/webhooks';
import { idleCost } from './scenarios/idle';

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  if (args.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.kind === 'invalid') {
    process.stderr.write(`unknown argument ${args.unknown.join(' ')}\n${USAGE}\n`);
    return 2;
  }
  const wanted = (name: Scenario): boolean => !args.only || args.only.includes(name);
  const run = newRun(plan(args.quick));
  const { results, failures, runId, logDir } = run;
  stopOnSignal(run.cleanups);

  say(`run ${runId}${args.quick ? ' (quick)' : ''}; logs in ${relative(REPO_ROOT, logDir)}/`);
  try {
    const context = await prepare(run, { redis: wanted('bullmq') || wanted('peer') });
    if (wanted('kafkajs')) results.kafkajs = await kafkajsBaseline(context);
    if (wanted('bullmq')) results.bullmq = await bullmqBaseline(context);
    if (wanted('peer')) results.peer = await bullmqMongoPeer(context);
    if (wanted('instant')) results.instant = await instantThroughput(context);
    if (wanted('latency100')) results.slow = await slowProviderThroughput(context, results.instant);
    if (wanted('halfload')) results.paced = await halfLoadLatency(context, results.instant);
    if (wanted('retry')) results.retry = await retryPrecision(context);
    if (wanted('apikey')) results.apikey = await apiKeyCost(context);
    if (wanted('webhooks')) results.webhooks = await webhookDeliveries(context);
    if (wanted('idle')) results.idle = await idleCost(context);
  } catch (error) {
    failures.push(errorMessage(error).split('\n')[0] ?? 'failed');
    say(`failed: ${errorMessage(error)}`);
  } finally {
    await run.cleanups.runAll();
  }

  writeReport(run, args.only !== undefined);
  const early = results.retry?.early ?? 0;
  say(`wall time ${wallSeconds().toFixed(0)} s`);
  if (early > 0) say(`FAILED: ${early} retries fired before they were due`);
  if (failures.length > 0) say(`FAILED: ${failures.length} run(s) did not complete`);
  return failures.length > 0 || early > 0 ? 1 : 0;
}

/** Ctrl-C: kills what the bench started and runs the cleanups; a second one exits at once. */
function stopOnSignal(cleanups: Cleanups): void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${signal}: stopping what the bench started`);
    killAllStarted();
    void cleanups.runAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    killAllStarted();
    process.exit(1);
  },
);
