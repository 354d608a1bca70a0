/**
 * The bench's report: the results table, the targets' verdicts and the CPU table, printed on
 * stdout and appended to tools/bench/RESULTS.md with the date, machine, versions and commit.
 */

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { infraMode, REPO_ROOT } from '@tools/harness';
import type { BenchRun } from './context';
import { MONGO_GROUPS, requestsPerThousand } from './server-requests';
import { ROLES, type CpuUsage } from './cpu-usage';
import type { Throughput } from './herald/load';
import {
  APPS,
  MAX_IN_FLIGHT,
  PARTITION_CONCURRENCY,
  SERVICES,
  WEBHOOKS_SERVICE,
} from './herald/services';
import type { WebhookRun } from './herald/webhook-deliveries';
import { say } from './log';
import type { Plan } from './plan';
import { percent, type IdleResult } from './scenarios/idle';
import type { WebhooksResult } from './scenarios/webhooks';
import { runCommand } from './shell';
import {
  formatDeliveryRate,
  formatInt,
  formatMb,
  formatMs,
  formatRate,
  formatRatio,
  markdownTable,
} from './stats';

const RESULTS_FILE = join(REPO_ROOT, 'tools', 'bench', 'RESULTS.md');

const RESULTS_HEADER = `# Herald benchmark results

Appended by \`npm run bench\` (code in \`tools/bench/\`; \`npm run bench -- --quick\` is the short run).
Every entry is one run on one machine, against the real local servers (Kafka, the schema
registry, FerretDB), with the provider simulator standing in for the providers and both
baselines measured in the same run on the same broker, simulator and machine.

Columns of the results table:

- **Herald**: the four services as processes (\`node dist/apps/<app>/main.js\`, one instance
  each, restarted per scenario), requests produced as Avro on \`herald.messages.requested\`
  (12 partitions), webhook channel, read back from the projector's \`/metrics\`.
- **kafkajs loop**: \`tools/bench/baselines/kafkajs-loop.ts\`, the least a kafkajs consumer can do to
  turn a record into a POST and an output record (no registry, events, transactions or
  MongoDB): the ceiling of this stack. Same concurrency (512 in flight, 12 partitions).
- **BullMQ**: \`tools/bench/baselines/bullmq.ts\`, the same job on BullMQ over Redis with its
  exponential back-off, the queue a team would otherwise pick. Same concurrency.
- **BullMQ + MongoDB**: the peer a team would really build, \`runBullmqBaseline\` with a
  database: after each job's call its worker upserts a status document and inserts a log
  document on the same MongoDB-protocol server as Herald's read model, as Novu's worker does.
- **÷ kafkajs**, **÷ BullMQ**, **÷ peer**: Herald's throughput over the baseline's (1.00× = as
  fast).

Rows:

- **e2e throughput**: messages ÷ (first produce → the projector has applied that many new
  \`sent\` events), polled every 100 ms, after a warm-up that is not counted.
  With the instant provider the burst runs three times on the same services and the row gives
  the median rate (every run's in brackets) and, in the CPU table, each process's median CPU
  per message.
- **e2e latency at half load**: produce (\`requestedAt\`) → \`sent\` written to the read model,
  at half the instant throughput (projector's \`herald_projector_request_to_sent_seconds\`).
- **projection lag**: event appended to \`herald.message-events\` → its read-model write done, same
  run (\`herald_projector_projection_lag_seconds\`, all event types).
- **retry lateness**: the simulator's arrival time of attempt 2 − the \`nextAttemptAt\` Herald
  announced in \`delivery_attempted\`, for webhooks answering 429 + \`Retry-After\`; negative = early.
- **POST /v1/messages p50 / p99, with a key**: serial POSTs with the bench tenant's secret key
  over one keep-alive connection (202 = durably on Kafka), after 50 not counted.
- **key check**: the access guard's work for a cached secret key (header parsed, SHA-256, hash
  looked up and compared in constant time), timed call by call in the bench process; its share
  of the POST's p50 is what the check adds to a POST.
- **webhook deliveries/s**: the webhooks service started with the four, one tenant's endpoints
  (subscribed to \`message.sent\`) on a simulator's Standard Webhooks receivers, each secret
  registered there so every signature is checked on arrival; deliveries ÷ (first → last received
  at the receivers), counting one verified delivery per endpoint and message. With 100
  endpoints every message goes to each, so the run has 1/100 as many messages for as many
  deliveries. After a warm-up whose messages are delivered too, not counted.
- **webhook latency at half load**: the receiver's arrival time − the payload's \`timestamp\`
  (the \`sent\` event's time), at half the 1-endpoint deliveries/s, 1 endpoint.
- **Kafka requests per 1,000 messages**: the requests the broker handled during the instant run's
  timed window, by kind, from its own RequestMetrics (read by attaching to its JVM,
  \`tools/bench/kafka/KafkaRequestCounts.java\`; the controller's own requests left out),
  over the messages: produce, fetch, transaction calls (InitProducerId, AddPartitionsToTxn,
  AddOffsetsToTxn, EndTxn), offset commits, the broker's transaction markers, group upkeep.
- **MongoDB commands per 1,000 messages**: the same for the MongoDB-protocol server, from its
  \`serverStatus\` (\`metrics.commands\`, kept by MongoDB and FerretDB alike; handshakes and
  pings left out): inserts, updates, finds, ... A command may write many documents (Herald
  writes in bulk), so this counts round trips, not documents.
- **peak RSS**: VmHWM of each process, the highest over the scenarios (which one in brackets).

The CPU table: CPU time each process spent in each throughput run's timed window (from
\`/proc\`), per message. "bench" is the load generator, and for the baselines the loop or worker
itself. "cores ÷ CPU per message" is the throughput the same work could reach with every core
busy.
`;

/**
 * Prints the report, and appends it to RESULTS.md unless the run was a trial (--only) or
 * measured nothing.
 */
export function writeReport(run: BenchRun, trial: boolean): void {
  const { results, failures, notes } = run;
  const report = renderReport(run);
  process.stdout.write(`\n${report.table}\n\n${report.targets}\n`);
  if (notes.length > 0)
    process.stdout.write(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (failures.length > 0) {
    process.stdout.write(`\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  }
  const measured = [
    results.kafkajs,
    results.bullmq,
    results.peer,
    results.instant,
    results.slow,
    results.paced,
    results.retry,
    results.apikey,
    results.webhooks,
    results.idle,
  ];
  const file = relative(REPO_ROOT, RESULTS_FILE);
  if (trial) {
    say(`--only: ${file} left as it was`);
  } else if (measured.some((result) => result !== undefined)) {
    appendResults(report.entry);
    say(`appended to ${file}`);
  } else {
    say(`nothing was measured: ${file} left as it was`);
  }
}

function renderReport(run: BenchRun): { table: string; targets: string; entry: string } {
  const { settings, results, failures, notes, runId } = run;
  const { kafkajs, bullmq, peer, instant, slow, paced, retry, apikey, webhooks, idle } = results;
  // An incomplete run's rate is what it reached before its time limit.
  const rate = (t: Throughput | undefined) =>
    t ? `${formatRate(t.perSecond)}${t.complete === false ? ' (incomplete)' : ''}` : '—';
  const ratio = (t: Throughput | undefined, base: Throughput | undefined) =>
    formatRatio(t?.perSecond ?? NaN, base?.perSecond ?? NaN);
  const trio = (a: number, b: number, c: number) =>
    `${formatMs(a)} / ${formatMs(b)} / ${formatMs(c)}`;
  const rows: string[][] = [
    [
      `e2e throughput, instant provider (${formatInt(instant?.produced ?? settings.burst)} msgs` +
        (instant?.rates && instant.rates.length > 1
          ? `, median of ${instant.rates.length}: ${instant.rates.map(formatRate).join(' / ')})`
          : ')'),
      rate(instant),
      rate(kafkajs),
      rate(bullmq),
      rate(peer),
      ratio(instant, kafkajs),
      ratio(instant, bullmq),
      ratio(instant, peer),
    ],
    [
      "Kafka requests per 1,000 messages, instant run (the broker's own count)",
      instant?.serverRequests?.kafka
        ? requestsPerThousand(instant.serverRequests.kafka, instant.messages)
        : 'not read',
    ],
    [
      "MongoDB commands per 1,000 messages, instant run (the server's own count)",
      instant?.serverRequests?.mongodb
        ? requestsPerThousand(instant.serverRequests.mongodb, instant.messages, MONGO_GROUPS)
        : 'not read',
    ],
    [
      `e2e throughput, ${settings.slowLatencyMs} ms provider (${formatInt(slow?.produced ?? NaN)} msgs, 1 sender)`,
      slow
        ? `${formatRate(slow.perSecond)} (${slow.complete === false ? 'incomplete, ' : ''}${slow.seconds.toFixed(1)} s)`
        : '—',
      'not run',
      'not run',
      'not run',
      '—',
      '—',
      '—',
    ],
    [
      `e2e latency p50 / p95 / p99 at half load (${paced ? formatRate(paced.targetRate) : '—'})`,
      paced ? trio(paced.requestToSent.p50, paced.requestToSent.p95, paced.requestToSent.p99) : '—',
      '',
      '',
      '',
      '',
    ],
    [
      'projection lag p50 / p95 / p99 at half load',
      paced ? trio(paced.projectionLag.p50, paced.projectionLag.p95, paced.projectionLag.p99) : '—',
      '',
      '',
      '',
      '',
    ],
    [
      retry
        ? `retry lateness p50 / p99 / max (${retry.measured} retries due ` +
          `${retry.scheduledAheadS.min.toFixed(0)}–${retry.scheduledAheadS.max.toFixed(0)} s ahead)`
        : 'retry lateness p50 / p99 / max',
      retry ? trio(retry.lateness.p50, retry.lateness.p99, retry.lateness.max) : '—',
      '',
      '',
      '',
      '',
    ],
    ['retries fired early', retry ? `${retry.early} of ${retry.measured}` : '—', '', '', '', ''],
    [
      `POST /v1/messages p50 / p99, with a key (${apikey ? formatInt(apikey.posts) : '—'} serial)`,
      apikey ? `${formatMs(apikey.post.p50)} / ${formatMs(apikey.post.p99)}` : '—',
      '',
      '',
      '',
      '',
    ],
    [
      `key check p50 / p99 (${apikey ? formatInt(apikey.checks) : '—'} in-process), share of POST p50`,
      apikey
        ? `${micros(apikey.check.p50)} / ${micros(apikey.check.p99)}, ` +
          `${((apikey.check.p50 / apikey.post.p50) * 100).toFixed(2)}%`
        : '—',
      '',
      '',
      '',
      '',
    ],
    ...webhookRows(settings, webhooks),
    ...idleRows(idle),
  ];
  for (const name of APPS) {
    const rss = results.rss.get(name);
    rows.push([
      `peak RSS ${name}`,
      rss ? `${formatMb(rss.bytes)} (${rss.scenario})` : '—',
      '',
      '',
      '',
      '',
    ]);
  }
  const header = [
    'measure',
    'Herald',
    'kafkajs loop',
    'BullMQ',
    'BullMQ + MongoDB',
    '÷ kafkajs',
    '÷ BullMQ',
    '÷ peer',
  ];
  // Rows of Herald's figures alone leave the baseline columns empty.
  const table = markdownTable(
    header,
    rows.map((row) => [...row, ...Array<string>(header.length - row.length).fill('')]),
  );

  const verdict = (ok: boolean | undefined, figure: string) => [
    ok === undefined ? 'not measured' : ok ? 'met' : 'MISSED',
    figure,
  ];
  const kafkaRatio = instant && kafkajs ? instant.perSecond / kafkajs.perSecond : undefined;
  /** Herald's instant rate at least `factor` times a baseline's, and by how much it is short. */
  const timesBaseline = (label: string, base: Throughput | undefined, factor: number) => {
    const ratio = instant && base ? instant.perSecond / base.perSecond : undefined;
    return [
      label,
      ...verdict(
        ratio === undefined ? undefined : ratio >= factor,
        ratio === undefined || !instant || !base
          ? '—'
          : `${formatRatio(instant.perSecond, base.perSecond)}: ${rate(instant)} vs ${rate(base)}` +
              (ratio < factor
                ? `, short by ${formatRate(factor * base.perSecond - instant.perSecond)}`
                : ''),
      ),
    ];
  };
  // The webhooks service counts when it ran; the four must all have.
  const rssServices = [...SERVICES, WEBHOOKS_SERVICE].map((name) => ({
    name,
    rss: results.rss.get(name),
  }));
  const worstRss = rssServices.reduce<{ name: string; bytes: number } | undefined>(
    (worst, { name, rss }) =>
      rss && (!worst || rss.bytes > worst.bytes) ? { name, bytes: rss.bytes } : worst,
    undefined,
  );
  const allRss = SERVICES.every((name) => results.rss.get(name) !== undefined);
  const webhookRuns = [webhooks?.oneEndpoint, webhooks?.manyEndpoints, webhooks?.halfLoad].filter(
    (run): run is WebhookRun => run !== undefined,
  );
  const targetRows: string[][] = [
    [
      'Herald e2e ≥ 60% of the kafkajs ceiling (instant provider)',
      ...verdict(
        kafkaRatio === undefined ? undefined : kafkaRatio >= 0.6,
        kafkaRatio === undefined || !instant || !kafkajs
          ? '—'
          : `${(kafkaRatio * 100).toFixed(1)}%: ${rate(instant)} vs ${rate(kafkajs)}` +
              (kafkaRatio < 0.6
                ? `, short by ${formatRate(0.6 * kafkajs.perSecond - instant.perSecond)}`
                : ''),
      ),
    ],
    timesBaseline('Herald e2e ≥ BullMQ (instant provider)', bullmq, 1),
    timesBaseline('Herald e2e ≥ 1.5× the BullMQ + MongoDB peer (instant provider)', peer, 1.5),
    [
      `≥ 1,000 msg/s per sender instance, ${settings.slowLatencyMs} ms provider`,
      ...verdict(
        slow ? slow.perSecond >= 1000 : undefined,
        slow
          ? `${rate(slow)} with 1 sender` +
              (slow.perSecond < 1000 ? `, short by ${formatRate(1000 - slow.perSecond)}` : '')
          : '—',
      ),
    ],
    [
      'retry lateness p99 ≤ 250 ms',
      ...verdict(
        retry && retry.measured > 0 ? retry.lateness.p99 <= 250 : undefined,
        retry ? formatMs(retry.lateness.p99) : '—',
      ),
    ],
    [
      'no retry fires early',
      ...verdict(
        retry && retry.measured > 0 ? retry.early === 0 : undefined,
        retry ? `${retry.early} early` : '—',
      ),
    ],
    [
      'projection lag p99 ≤ 500 ms at half load',
      ...verdict(
        paced && Number.isFinite(paced.projectionLag.p99)
          ? paced.projectionLag.p99 <= 500
          : undefined,
        paced ? formatMs(paced.projectionLag.p99) : '—',
      ),
    ],
    [
      'the key check adds < 1 ms to a POST (p50)',
      ...verdict(
        apikey ? apikey.check.p50 < 1 : undefined,
        apikey ? micros(apikey.check.p50) : '—',
      ),
    ],
    [
      'every webhook delivery verified by its receiver',
      ...verdict(
        webhookRuns.length > 0 ? webhookRuns.every((run) => run.refused === 0) : undefined,
        webhookRuns.length > 0
          ? `${formatInt(sum(webhookRuns, (run) => run.delivered))} verified, ` +
              `${formatInt(sum(webhookRuns, (run) => run.refused))} refused, ` +
              `${formatInt(sum(webhookRuns, (run) => run.repeated))} repeated`
          : '—',
      ),
    ],
    [
      'at rest: all services ≤ 3% of one core',
      ...verdict(
        idle && Number.isFinite(idle.servicesTotal) ? idle.servicesTotal <= 0.03 : undefined,
        idle ? percent(idle.servicesTotal) : '—',
      ),
    ],
    [
      'at rest: the broker ≤ 2% of one core more than with the services stopped',
      ...verdict(
        idle && Number.isFinite(idle.brokerWithServices - idle.brokerAlone)
          ? idle.brokerWithServices - idle.brokerAlone <= 0.02
          : undefined,
        idle ? `+${percent(idle.brokerWithServices - idle.brokerAlone)}` : '—',
      ),
    ],
    [
      'each service ≤ 250 MB RSS',
      ...verdict(
        allRss && worstRss ? worstRss.bytes <= 250 * 1024 * 1024 : undefined,
        worstRss ? `largest: ${worstRss.name} ${formatMb(worstRss.bytes)}` : '—',
      ),
    ],
  ];
  const targets = markdownTable(['target', 'verdict', 'figure'], targetRows);
  const cpu = cpuTable([
    { label: 'Herald instant', run: instant },
    { label: `Herald ${settings.slowLatencyMs} ms`, run: slow },
    { label: 'kafkajs loop', run: kafkajs },
    { label: 'BullMQ', run: bullmq },
    { label: 'BullMQ + MongoDB', run: peer },
    { label: 'webhooks, 1 endpoint (per delivery)', run: perDelivery(webhooks?.oneEndpoint) },
    {
      label: `webhooks, ${webhooks?.manyEndpoints?.endpoints ?? settings.webhookEndpoints} endpoints (per delivery)`,
      run: perDelivery(webhooks?.manyEndpoints),
    },
  ]);

  const mode = infraMode();
  const settingsLine =
    `${results.partitions ?? '?'} partitions on herald.messages.requested; one instance of each ` +
    `service; HERALD_MAX_IN_FLIGHT=${MAX_IN_FLIGHT}, HERALD_PARTITION_CONCURRENCY=${PARTITION_CONCURRENCY}; ` +
    `warm-up ${settings.warmUp} messages after a 1-message probe (only the probe before the half-load and retry runs; the half-load summaries include it); ` +
    `half load for ${settings.halfLoadSeconds} s; retries with Retry-After 1–${settings.retryMaxSeconds} s` +
    (webhooks
      ? '; webhooks service at its defaults (HERALD_WEBHOOK_ENDPOINT_CONCURRENCY=16, ' +
        'HERALD_WEBHOOK_SLOW_AFTER_MS=500), its endpoints on a recording simulator of their own'
      : '');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const entry = [
    `## ${date} — ${settings.quick ? 'quick run' : 'full run'} ${runId}`,
    '',
    `- Machine: ${machineLine()}`,
    `- Versions: ${versionsLine(mode)}`,
    `- Commit: ${commitLine()}`,
    `- Settings: ${settingsLine}`,
    '',
    table,
    '',
    targets,
    ...(cpu ? ['', cpu] : []),
    ...(notes.length > 0 ? ['', 'Notes:', '', ...notes.map((note) => `- ${note}`)] : []),
    ...(failures.length > 0
      ? ['', 'Failures:', '', ...failures.map((f) => `- ${f.split('\n')[0]}`)]
      : []),
    '',
  ].join('\n');
  return { table, targets: cpu ? `${targets}\n\n${cpu}` : targets, entry };
}

/** The idle rows: every service's CPU at rest, and what they add to the broker's. */
function idleRows(idle: IdleResult | undefined): string[][] {
  const services = idle
    ? [...idle.services].map(([name, value]) => `${name} ${percent(value)}`).join(', ')
    : '';
  return [
    [
      `CPU at rest, all services, share of one core (${idle ? `${idle.seconds} s` : 'not run'})`,
      idle ? `${percent(idle.servicesTotal)} (${services})` : '—',
      '',
      '',
      '',
      '',
    ],
    [
      'broker CPU at rest, with the services / with them stopped',
      idle ? `${percent(idle.brokerWithServices)} / ${percent(idle.brokerAlone)}` : '—',
      '',
      '',
      '',
      '',
    ],
  ];
}

/**
 * The webhooks rows: deliveries per second with 1 endpoint and with many (how many messages
 * made how many deliveries said in the row), and the latency at half load.
 */
function webhookRows(settings: Plan, webhooks: WebhooksResult | undefined): string[][] {
  const one = webhooks?.oneEndpoint;
  const many = webhooks?.manyEndpoints;
  const paced = webhooks?.halfLoad;
  const rate = (run: WebhookRun | undefined) =>
    run
      ? `${formatDeliveryRate(run.perSecond)} (${run.complete ? '' : 'incomplete, '}${run.seconds.toFixed(1)} s)`
      : '—';
  const manyEndpoints = many?.endpoints ?? settings.webhookEndpoints;
  const manyMessages = many?.messages ?? Math.ceil(settings.webhookDeliveries / manyEndpoints);
  return [
    [
      `webhook deliveries/s, 1 endpoint (${formatInt(one?.messages ?? settings.webhookDeliveries)} msgs ` +
        `→ ${formatInt(one?.expected ?? settings.webhookDeliveries)} deliveries)`,
      rate(one),
      '',
      '',
      '',
      '',
    ],
    [
      `webhook deliveries/s, ${manyEndpoints} endpoints (${formatInt(manyMessages)} msgs × ` +
        `${manyEndpoints} = ${formatInt(manyMessages * manyEndpoints)} deliveries)`,
      rate(many),
      '',
      '',
      '',
      '',
    ],
    [
      `webhook latency p50 / p99 at half load, sent → received ` +
        `(${paced?.targetRate !== undefined ? formatDeliveryRate(paced.targetRate) : '—'}, 1 endpoint)`,
      paced
        ? `${formatMs(paced.latency.p50)} / ${formatMs(paced.latency.p99)}` +
          (paced.complete ? '' : ' (incomplete)')
        : '—',
      '',
      '',
      '',
      '',
    ],
  ];
}

/** A webhooks burst as a CPU table column: CPU per delivery, at its deliveries/s. */
function perDelivery(run: WebhookRun | undefined): CpuColumn['run'] {
  return run && { messages: run.delivered, perSecond: run.perSecond, cpu: run.cpu };
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

interface CpuColumn {
  label: string;
  run: Pick<Throughput, 'messages' | 'perSecond' | 'cpu'> | undefined;
}

/**
 * CPU per message of every process in each throughput run's window, and what that allows: on a
 * machine whose cores are all busy, cores ÷ CPU per message is the most any arrangement of the
 * same work could reach.
 */
function cpuTable(columns: readonly CpuColumn[]): string | undefined {
  const measured = columns.filter(
    (c): c is { label: string; run: NonNullable<CpuColumn['run']> & { cpu: CpuUsage } } =>
      c.run?.cpu !== undefined && c.run.messages > 0,
  );
  if (measured.length === 0) return undefined;
  const perMessage = (c: (typeof measured)[number], ms: number) =>
    `${(ms / c.run.messages).toFixed(3)} ms`;
  const rows = ROLES.filter((role) => measured.some((c) => c.run.cpu.byRole.has(role))).map(
    (role) => [
      role,
      ...measured.map((c) => {
        const ms = c.run.cpu.byRole.get(role);
        return ms === undefined ? '' : perMessage(c, ms);
      }),
    ],
  );
  rows.push(['**all of these**', ...measured.map((c) => perMessage(c, c.run.cpu.totalMs))]);
  rows.push([
    'machine busy (all cores, any process)',
    ...measured.map((c) => `${(c.run.cpu.machineBusy * 100).toFixed(0)}%`),
  ]);
  rows.push([
    'cores ÷ CPU per message',
    ...measured.map((c) =>
      formatRate((c.run.cpu.cores * 1000 * c.run.messages) / c.run.cpu.totalMs),
    ),
  ]);
  rows.push(['measured', ...measured.map((c) => formatRate(c.run.perSecond))]);
  return markdownTable(['CPU per message', ...measured.map((c) => c.label)], rows);
}

function appendResults(entry: string): void {
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, RESULTS_HEADER);
  appendFileSync(RESULTS_FILE, `\n${entry}`);
}

// ---------------------------------------------------------------------------------------------
// Machine, versions, commit

function scriptDefault(file: string, pattern: RegExp): string {
  try {
    return pattern.exec(readFileSync(join(REPO_ROOT, file), 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return '?';
  }
}

function machineLine(): string {
  let distro = `${os.type()}`;
  try {
    distro =
      /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux, or no os-release
  }
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${distro} (${os.type()} ${os.release()} ${os.arch()}); ${model}, ${cpus.length} cores; ${memory} GiB RAM`;
}

function versionsLine(mode: 'docker' | 'local'): string {
  let servers: string;
  if (mode === 'docker') {
    const compose = (() => {
      try {
        return readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
      } catch {
        return '';
      }
    })();
    const images = [...compose.matchAll(/image:\s*(\S+)/g)].map((m) => m[1]).join(', ');
    servers = `Docker images ${images}`;
  } else {
    const kafka =
      process.env.KAFKA_VERSION ??
      scriptDefault('scripts/infra/kafka.sh', /KAFKA_VERSION="\$\{KAFKA_VERSION:-([^}]+)\}"/);
    const ferret =
      process.env.FERRETDB_VERSION ??
      scriptDefault(
        'scripts/infra/ferretdb.sh',
        /FERRETDB_VERSION="\$\{FERRETDB_VERSION:-([^}]+)\}"/,
      );
    const apicurio = scriptDefault('scripts/infra/schema-registry.sh', /APICURIO_VERSION=(\S+)/);
    servers = `Kafka ${kafka}, FerretDB ${ferret}, Apicurio Registry ${apicurio}`;
  }
  const redis = /v=(\S+)/.exec(runCommand('redis-server', ['--version']).stdout)?.[1] ?? '?';
  return (
    `node ${process.version}; ${servers}; Redis ${redis}; kafkajs ${packageVersion('kafkajs')}, ` +
    `BullMQ ${packageVersion('bullmq')}`
  );
}

function commitLine(): string {
  const head = runCommand('git', ['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'unknown (not a git checkout)';
  // --no-optional-locks: a status that never writes the index. Entries the bench appended and
  // nobody committed yet do not make the code measured any different.
  const status = runCommand('git', [
    '--no-optional-locks',
    'status',
    '--porcelain',
    '--',
    '.',
    `:(exclude)${relative(REPO_ROOT, RESULTS_FILE)}`,
  ]);
  const dirty = status.stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

/** 0.0042 ms → "4.2 µs" */
function micros(ms: number): string {
  return Number.isFinite(ms) ? `${(ms * 1000).toFixed(1)} µs` : '—';
}
