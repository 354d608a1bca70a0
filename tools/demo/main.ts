/**
 * npm run demo [-- send | events [--from-beginning]]
 *
 * Herald's main job end to end on this machine. Starts the real servers if they are not up,
 * builds (when the sources changed) and starts the services, the dashboard and the provider
 * simulator, with every provider (SendGrid, SMTP, Twilio, Slack, FCM, APNs) pointed at the
 * simulator through throwaway credentials, then sends messages that take different paths
 * (webhooks: instant success, retries, Retry-After, giving up, not_sent, rejected; then one per
 * channel: SMS and email confirmed by status checks, a bounce, chat, push, a bad device token,
 * in-app), waits for their final statuses and prints them, then shows what two webhook endpoints
 * received (every event; the bounce, after two 503s); it exits non-zero if any ended differently.
 * Then it prints the dashboard's address, its status page's, and the demo tenant's secret key
 * to sign in with (also after `send`, when a dashboard answers on DASHBOARD_PORT).
 * On exit it stops the services and the simulator, and the servers it started (servers it found
 * running are left running). scripts/demo.sh installs the npm dependencies first if needed.
 *
 *   send                        only send the messages and report, to a Herald already running
 *                               (with HERALD_API_KEY, a key of tenant demo, or a key made now)
 *   events [--from-beginning]   print every event on herald.message-events as it arrives
 *                               (--from-beginning: the whole topic); Ctrl-C stops it
 *
 * Every port is overridable, so the demo can run beside another Herald:
 *   HERALD_RUN_DIR=/tmp/demo-run KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 \
 *   KAFKA_SASL_PORT=19094 SCHEMA_REGISTRY_PORT=18081 MONGODB_PORT=27018 INGEST_PORT=13000 \
 *   PROJECTOR_PORT=13001 SENDER_PORT=13002 STATUS_CHECKER_PORT=13003 WEBHOOKS_PORT=13005 \
 *   DASHBOARD_PORT=13004 PROVIDER_SIM_PORT=14010 PROVIDER_SIM_APNS_PORT=14011 \
 *   PROVIDER_SIM_SMTP_PORT=12525 npm run demo
 * Other server ports than the defaults mean local servers (HERALD_INFRA_MODE=local), since
 * Docker Compose publishes the defaults only. The simulator's PROVIDER_SIM_PORT serves the HTTP
 * providers and webhooks; APNs (cleartext HTTP/2) and SMTP have their own listeners, on
 * PROVIDER_SIM_APNS_PORT (default 4011) and PROVIDER_SIM_SMTP_PORT (default 2525).
 * HERALD_RUN_DIR holds the servers' data, pids and logs, the services' logs, and the simulator's
 * throwaway provider credentials in sim-credentials/ (default .herald).
 * HERALD_TIME_SCALE (default 0.005) shrinks every retry delay: Knock's 30 minutes take 9 s.
 * HERALD_DEMO_TIMEOUT_S bounds the wait for final statuses (default 90, or Knock's 30-minute
 * window at HERALD_TIME_SCALE plus a minute when that is longer).
 * HERALD_DEMO_BUILD=1 rebuilds every app, =0 never builds (default: the apps whose sources
 * changed); HERALD_DEMO_KEEP=1 keeps everything running until Enter or Ctrl-C (the default in a
 * terminal), HERALD_DEMO_KEEP=0 stops right away.
 */

import { createInterface } from 'node:readline';
import { killAllStarted, portOpen } from '@tools/harness';
import { printDashboard } from './dashboard';
import { watchEvents } from './events';
import { errorMessage, heading, red, say } from './output';
import { runScenarios } from './run';
import { readSettings, type Settings } from './settings';
import { DemoExit, requireFreePorts, Stack } from './stack';
import { DEMO_TENANT, demoKey, type Target } from './target';

const USAGE = 'usage: npm run demo [-- send | events [--from-beginning]]';

function targetOf({ ports, servers, timeScale, logDir }: Settings, apiKey: string): Target {
  const local = (port: number) => `http://127.0.0.1:${port}`;
  // Long enough for Knock's window at this time scale, plus a minute for everything else.
  const timeoutS = Number(process.env.HERALD_DEMO_TIMEOUT_S || Math.max(90, 1800 * timeScale + 60));
  return {
    ingest: local(ports.ingest),
    projector: local(ports.projector),
    webhooks: local(ports.webhooks),
    dashboard: local(ports.dashboard),
    sim: local(ports['provider-sim']),
    kafkaBrokers: servers.KAFKA_BROKERS.split(',').map((broker) => broker.trim()),
    schemaRegistryUrl: servers.SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
    timeScale,
    timeoutMs: timeoutS * 1000,
    logDir,
    apiKey,
  };
}

/** The target with the demo tenant's key: HERALD_API_KEY, or one made now (and said so). */
async function targetWithKey(settings: Settings): Promise<Target> {
  const { key, created } = await demoKey(settings.servers.MONGODB_URI);
  if (created) {
    say(
      `Made API key ${created} for tenant ${DEMO_TENANT} (as npm run herald -- keys create --tenant ${DEMO_TENANT} does); every API call below sends it.`,
    );
  }
  return targetOf(settings, key);
}

/** Prints why the demo stops (unless that was printed already) and returns its exit code. */
function failed(error: unknown): number {
  if (error instanceof DemoExit) return error.code;
  console.error(`demo: ${errorMessage(error)}`);
  return 1;
}

/** Sends the messages and reports; a failure to talk to Herald is exit code 1, explained. */
async function scenarios(target: Target): Promise<number> {
  try {
    return await runScenarios(target);
  } catch (error) {
    console.error(red(`demo failed: ${errorMessage(error)}`));
    return 1;
  }
}

/** HERALD_DEMO_KEEP=1, or unset on a terminal: Herald stays up after the report. */
function keepsRunning(): boolean {
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  return (process.env.HERALD_DEMO_KEEP || (interactive ? '1' : '0')) === '1';
}

/** Until Enter on a terminal; otherwise until a signal (Ctrl-C, SIGTERM). */
async function keepUp(): Promise<void> {
  heading('Herald stays up so you can try the commands above; press Enter (or Ctrl-C) to stop it.');
  if (process.stdin.isTTY) {
    // terminal: false keeps the terminal cooked, so Ctrl-C stays a SIGINT for the handler below.
    const lines = createInterface({ input: process.stdin, terminal: false });
    await new Promise<void>((resolve) => {
      lines.once('line', () => resolve());
      lines.once('close', () => resolve());
    });
    lines.close();
  } else {
    await new Promise<never>(() => setInterval(() => {}, 1 << 30));
  }
}

/** `send`: the messages to a Herald already running; its dashboard's address if one answers. */
async function sendOnly(): Promise<number> {
  const settings = readSettings({ forStack: false });
  const target = await targetWithKey(settings);
  const code = await scenarios(target);
  // A Herald started without the dashboard has nothing there to point at.
  if (code === 0 && (await portOpen(settings.ports.dashboard))) printDashboard(target, false);
  return code;
}

/** The whole demo: the stack up, the messages, then everything it started down again. */
async function demo(): Promise<number> {
  let stack: Stack;
  let settings: Settings;
  try {
    settings = readSettings({ forStack: true });
    await requireFreePorts(settings);
    stack = new Stack(settings);
    stack.noteRunningServers();
  } catch (error) {
    return failed(error);
  }

  // Ctrl-C (130) or SIGTERM (143) still stops what was started; a second one stops at once.
  let signalled: number | undefined;
  const onSignal = (code: number) => {
    if (signalled !== undefined) {
      killAllStarted();
      process.exit(code);
    }
    signalled = code;
    void stack.down().finally(() => {
      // Anything started while it was stopping (a service spawning that moment) goes too.
      killAllStarted();
      process.exit(code);
    });
  };
  process.on('SIGINT', () => onSignal(130));
  process.on('SIGTERM', () => onSignal(143));

  let code: number;
  try {
    await stack.up();
    const target = await targetWithKey(settings);
    code = await scenarios(target);
    // Like the shell demo before it: a failed run stops at once, nothing is kept up to inspect.
    if (code === 0) {
      const keep = keepsRunning();
      printDashboard(target, !keep);
      if (keep) await keepUp();
    }
  } catch (error) {
    // After a signal, failures are the stop's doing (services gone mid-request): not news.
    code = signalled ?? failed(error);
  }
  await stack.down();
  return signalled ?? code;
}

async function main(): Promise<number> {
  const [command = 'run', ...flags] = process.argv.slice(2);
  switch (command) {
    case 'run':
      return demo();
    case 'send':
      try {
        return await sendOnly();
      } catch (error) {
        return failed(error);
      }
    case 'events':
      try {
        await watchEvents(
          // Reads Kafka only: no API key needed.
          targetOf(readSettings({ forStack: false }), ''),
          flags.includes('--from-beginning'),
        );
      } catch (error) {
        console.error(red(`demo failed: ${errorMessage(error)}`));
        return 1;
      }
      // Runs until a signal; its handler exits.
      return new Promise<never>(() => {});
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

void main().then((code) => process.exit(code));
