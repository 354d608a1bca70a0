/**
 * npm run dashboard:timing [-- --requests N] [--warmup N]
 *
 * How fast the dashboard's pages answer on real data (the demo's, usually): signs in with a
 * secret key, reads the message list for real ids (the newest message, one retried, whose Logs
 * tab has the most calls, and an in-app recipient for the feed), then requests each page
 * N times one after another (default 50) after a few untimed warm-up requests (default 5),
 * and prints p50, p95 and the slowest in ms per page, against the budget of p95 ≤ 300 ms.
 * A measurement, not a test: a page over budget still exits 0; a page answering anything but
 * 2xx exits 1, naming it.
 *
 *   HERALD_DASHBOARD_URL   the dashboard (default http://127.0.0.1:$DASHBOARD_PORT, port 3004);
 *                          only 127.0.0.0/8, ::1 or localhost: the requests carry a session
 *   HERALD_API_KEY         the tenant's secret key to sign in with; unset, a new key of tenant
 *                          demo is stored in Herald's MongoDB, as `npm run demo -- send` does
 *
 * The requests are sequential on one keep-alive connection, like one person clicking: each
 * timing runs from sending the request to the last byte of the page.
 */

import { availableParallelism, loadavg } from 'node:os';
import { errorMessage, green, heading, red, say, table, type Cell } from '../demo/output';
import { DashboardClient, DashboardError } from './client';
import { listedMessages, nextPageHref, pick, type ListedMessage, type Picks } from './pick';
import { summarize } from './stats';
import { dashboardOrigin, signInKey, UsageError } from './target';

const USAGE = 'usage: npm run dashboard:timing [-- --requests N] [--warmup N]';

/** The budget for every page. */
const BUDGET_P95_MS = 300;
/** The list read for ids asks for the most a page holds (the read API's MAX_LIST_LIMIT). */
const PICK_LIMIT = 100;
/** Older list pages read, at most, looking for a retried message. */
const PICK_PAGES = 3;

interface Options {
  requests: number;
  warmup: number;
}

function countArgument(flag: string, value: string | undefined, min: number): number {
  const count = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || count < min) {
    throw new UsageError(`${flag} needs a whole number of at least ${min}\n${USAGE}`);
  }
  return count;
}

function parseArguments(argv: readonly string[]): Options | 'help' {
  const options: Options = { requests: 50, warmup: 5 };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--requests') options.requests = countArgument(flag, argv[++i], 1);
    else if (flag === '--warmup') options.warmup = countArgument(flag, argv[++i], 0);
    else throw new UsageError(`unknown argument ${flag}\n${USAGE}`);
  }
  return options;
}

/** `GET path answered 303 → /sign-in`, with what that usually means. */
function answeredBadly(path: string, status: number, location: string | undefined): string {
  const where = location ? ` → ${location}` : '';
  const why = location?.startsWith('/sign-in') ? ' (the session was not accepted)' : '';
  return `GET ${path} answered ${status}${where}${why}`;
}

/** The list's messages, newest first, reading older pages only until a retried one turns up. */
async function listForPicks(client: DashboardClient): Promise<ListedMessage[]> {
  const messages: ListedMessage[] = [];
  let path: string | undefined = `/messages?limit=${PICK_LIMIT}`;
  for (let page = 0; path && page < PICK_PAGES; page += 1) {
    const answer = await client.get(path);
    if (answer.status !== 200) {
      throw new DashboardError(answeredBadly(path, answer.status, answer.location));
    }
    messages.push(...listedMessages(answer.body));
    if (messages.some((message) => message.attempts > 1)) break;
    path = nextPageHref(answer.body);
  }
  return messages;
}

/** Every page to time, in the table's order; the ones the data cannot fill are said. */
function pagesFor({ first, retried, recipient }: Picks): { paths: string[]; skipped: string[] } {
  const skipped: string[] = [];
  const messagePages = [first, retried]
    .filter((message, i, all): message is ListedMessage => !!message && all.indexOf(message) === i)
    .flatMap(({ href }) => [href, `${href}?tab=logs`]);
  if (!first)
    skipped.push('/messages/:id and its Logs tab (the list is empty: run `npm run demo` first)');
  else if (!retried)
    skipped.push('a retried message (no message on the list has more than one attempt)');
  if (!recipient) skipped.push('/feed (no recipient on the list)');
  const feed = recipient ? [`/feed?recipient=${encodeURIComponent(recipient)}`] : [];
  const paths = [
    '/messages',
    '/messages?status=sent',
    ...messagePages,
    '/webhooks',
    ...feed,
    '/status',
    '/status.json',
  ];
  return { paths, skipped };
}

interface PageTiming {
  path: string;
  samples: number[];
  /** Why the page was not timed (fully), when it answered other than 2xx. */
  failure?: string;
}

/** Warm-up requests first (untimed: the first render compiles templates, fills caches), then N. */
async function timePage(
  client: DashboardClient,
  path: string,
  options: Options,
): Promise<PageTiming> {
  const samples: number[] = [];
  for (let i = 0; i < options.warmup + options.requests; i += 1) {
    const answer = await client.get(path);
    if (answer.status < 200 || answer.status > 299) {
      return { path, samples, failure: answeredBadly(path, answer.status, answer.location) };
    }
    if (i >= options.warmup) samples.push(answer.ms);
  }
  return { path, samples };
}

const ms = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));

function printTable(timings: readonly PageTiming[]): void {
  const rows: Cell[][] = timings.map(({ path, samples, failure }) => {
    if (failure) return [path, '-', '-', '-', { text: 'failed (below)', style: red }];
    const { p50, p95, max } = summarize(samples);
    const within = p95 <= BUDGET_P95_MS;
    return [
      path,
      ms(p50),
      ms(p95),
      ms(max),
      within ? { text: 'yes', style: green } : { text: 'NO', style: red },
    ];
  });
  table(['PAGE', 'P50 MS', 'P95 MS', 'MAX MS', `P95 ≤ ${BUDGET_P95_MS} MS`], rows);
}

function describePicks({ first, retried, recipient }: Picks): void {
  const attempts = (message: ListedMessage) => `${message.attempts} attempt(s)`;
  if (first) say(`  newest message: ${first.id} (${attempts(first)})`);
  if (retried && retried !== first) say(`  most retried: ${retried.id} (${attempts(retried)})`);
  if (recipient) say(`  feed recipient: ${recipient}`);
  // Timings on a busy machine say more about the machine: show how busy it was.
  const [load = 0] = loadavg();
  say(`  load average ${load.toFixed(1)} on ${availableParallelism()} CPU(s) when it started`);
}

async function measure(origin: string, options: Options): Promise<number> {
  const { key, created } = await signInKey();
  if (created)
    say(`Made API key ${created} for tenant demo to sign in with (HERALD_API_KEY picks one).`);
  const client = new DashboardClient(origin);
  await client.signIn(key);
  const picks = pick(await listForPicks(client));
  const { paths, skipped } = pagesFor(picks);

  heading(
    `Timing ${origin}: ${options.requests} requests per page, one after another, after ${options.warmup} warm-up`,
  );
  describePicks(picks);
  for (const what of skipped) say(`  not timed: ${what}`);
  const timings: PageTiming[] = [];
  for (const path of paths) timings.push(await timePage(client, path, options));
  say();
  printTable(timings);

  const failures = timings.flatMap(({ failure }) => (failure ? [failure] : []));
  for (const failure of failures) say(red(`  ${failure}`));
  const over = timings.filter(
    ({ samples, failure }) => !failure && summarize(samples).p95 > BUDGET_P95_MS,
  );
  if (failures.length === 0) {
    say(
      over.length === 0
        ? green(`\n  Every page within the budget (p95 ≤ ${BUDGET_P95_MS} ms).`)
        : red(
            `\n  ${over.length} page(s) over the budget (p95 > ${BUDGET_P95_MS} ms); a measurement, so exit 0.`,
          ),
    );
  }
  return failures.length > 0 ? 1 : 0;
}

/** A dashboard that is not there is the likeliest failure: say what to start. */
function explain(error: unknown, origin: string): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') {
    return `nothing answers on ${origin}: start Herald with the dashboard (npm run demo), or set HERALD_DASHBOARD_URL`;
  }
  return errorMessage(error);
}

/** The options and the dashboard's origin, or the exit code when there is nothing to measure. */
function setUp(argv: readonly string[]): { options: Options; origin: string } | number {
  try {
    const options = parseArguments(argv);
    if (options === 'help') {
      say(USAGE);
      return 0;
    }
    return { options, origin: dashboardOrigin() };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`dashboard:timing: ${error.message}`);
    return 2;
  }
}

async function main(): Promise<number> {
  const setup = setUp(process.argv.slice(2));
  if (typeof setup === 'number') return setup;
  try {
    return await measure(setup.origin, setup.options);
  } catch (error) {
    console.error(red(`dashboard:timing: ${explain(error, setup.origin)}`));
    return 1;
  }
}

void main().then((code) => process.exit(code));
