import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'prom-client';
import { HERALD_METRICS, type MetricDeclaration } from '@herald/metrics';

/**
 * The Grafana dashboard in deploy/grafana parses, is shaped as Grafana imports it, and names
 * only metrics Herald declares (libs/edge/metrics), with labels they have; and every metric
 * Herald declares is on it. No server, no Grafana: the queries are read as PromQL text.
 */

const DASHBOARD_FILE = join(__dirname, '../../deploy/grafana/herald-dashboard.json');

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ type?: string; name?: string; query?: string }> };
}

/**
 * PromQL words that are not metrics: keywords, and the aggregation operators, which need not be
 * followed by `(` (`sum by (le) (...)`).
 */
const KEYWORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** Labels every scraped series has, whatever the metric. */
const TARGET_LABELS = new Set(['job', 'instance']);

const HISTOGRAM_SERIES = /^(.*)_(bucket|sum|count)$/;

/** What one PromQL expression refers to. */
export interface PromqlReferences {
  /** Series names as written, e.g. `herald_provider_call_duration_seconds_bucket`. */
  series: string[];
  /** Labels in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)` and matchers. */
  labels: string[];
}

/**
 * The series and labels a PromQL expression names. Grafana's variables ($__rate_interval,
 * ${datasource}), range selectors, strings, numbers, functions (any word before `(`),
 * aggregation modifiers and keywords are not series.
 */
export function promqlReferences(expr: string): PromqlReferences {
  const labels: string[] = [];
  let text = expr.replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  // Matchers: the label names, then the braces go (their strings could hold anything).
  text = text.replace(/\{([^}]*)\}/g, (_, body: string) => {
    const withoutStrings = body.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
    for (const match of withoutStrings.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      labels.push(match[1]!);
    }
    return ' ';
  });
  text = text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ');
  text = text.replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, keyword: string, list: string) => {
      labels.push(
        ...list
          .split(',')
          .map((label) => label.trim())
          .filter(Boolean),
      );
      return ` ${keyword} `;
    },
  );
  const series: string[] = [];
  for (const match of text.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, word, call] = match;
    if (!word || call || KEYWORDS.has(word.toLowerCase())) continue;
    series.push(word);
  }
  return { series, labels };
}

/** Why the dashboard is wrong, one line per problem; empty when it is right. */
export function dashboardProblems(
  dashboard: Dashboard,
  declared: readonly MetricDeclaration[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(declared.map((metric) => [metric.name, metric]));
  const used = new Set<string>();
  if (!dashboard.uid) problems.push('the dashboard has no uid');
  if (!dashboard.title) problems.push('the dashboard has no title');
  if (typeof dashboard.schemaVersion !== 'number' || dashboard.schemaVersion < 36) {
    problems.push(`schemaVersion ${dashboard.schemaVersion} (expected 36 or later)`);
  }
  const variable = dashboard.templating?.list?.find((v) => v.name === 'datasource');
  if (variable?.type !== 'datasource' || variable.query !== 'prometheus') {
    problems.push('no `datasource` variable of type datasource, query prometheus');
  }

  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  if (panels.length === 0) problems.push('the dashboard has no panels');
  const ids = new Set<number>();
  for (const panel of panels) {
    const name = `panel ${panel.id} (${panel.title ?? 'untitled'})`;
    if (typeof panel.id !== 'number' || ids.has(panel.id)) problems.push(`${name}: id not unique`);
    if (typeof panel.id === 'number') ids.add(panel.id);
    const grid = panel.gridPos;
    if (!grid || grid.x < 0 || grid.w <= 0 || grid.x + grid.w > 24 || grid.h <= 0) {
      problems.push(`${name}: gridPos outside Grafana's 24 columns`);
    }
    if (panel.type === 'row') continue;
    if (panel.datasource?.uid !== '${datasource}') {
      problems.push(`${name}: datasource is not \${datasource}`);
    }
    const targets = panel.targets ?? [];
    if (targets.length === 0) problems.push(`${name}: no targets`);
    const refIds = new Set<string>();
    for (const target of targets) {
      const where = `${name} target ${target.refId}`;
      if (!target.refId || refIds.has(target.refId)) problems.push(`${where}: refId not unique`);
      if (target.refId) refIds.add(target.refId);
      if (target.datasource && target.datasource.uid !== '${datasource}') {
        problems.push(`${where}: datasource is not \${datasource}`);
      }
      if (!target.expr?.trim()) {
        problems.push(`${where}: no expr`);
        continue;
      }
      problems.push(...exprProblems(target.expr, byName, used).map((p) => `${where}: ${p}`));
    }
  }
  for (const metric of declared) {
    if (!used.has(metric.name)) problems.push(`${metric.name} is on no panel`);
  }
  return problems;
}

function exprProblems(
  expr: string,
  byName: ReadonlyMap<string, MetricDeclaration>,
  used: Set<string>,
): string[] {
  const problems: string[] = [];
  const { series, labels } = promqlReferences(expr);
  if (series.length === 0) problems.push(`\`${expr}\` names no metric`);
  const allowed = new Set(TARGET_LABELS);
  let counting = false;
  for (const name of series) {
    const direct = byName.get(name);
    const part = HISTOGRAM_SERIES.exec(name);
    const histogram = part ? byName.get(part[1]!) : undefined;
    const metric = direct ?? (histogram?.type === 'histogram' ? histogram : undefined);
    if (!metric) {
      problems.push(`${name} is not a metric Herald declares`);
      continue;
    }
    used.add(metric.name);
    for (const label of metric.labelNames) allowed.add(label);
    if (metric.type === 'histogram' && part?.[2] === 'bucket') allowed.add('le');
    if (metric.type === 'histogram' && !direct && part?.[2] !== undefined) counting = true;
    else if (metric.type === 'histogram')
      problems.push(`${name}: a histogram needs _bucket, _sum or _count`);
    if (metric.type === 'counter') counting = true;
  }
  for (const label of labels) {
    if (!allowed.has(label)) problems.push(`label ${label} is on none of ${series.join(', ')}`);
  }
  if (counting && !/\b(rate|irate|increase)\s*\(/.test(expr)) {
    problems.push(`\`${expr}\` shows a counter without rate() or increase()`);
  }
  if (/histogram_quantile\s*\(/.test(expr) && !labels.includes('le')) {
    problems.push(`\`${expr}\`: histogram_quantile over buckets not grouped by le`);
  }
  return problems;
}

function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

describe('the Grafana dashboard (deploy/grafana/herald-dashboard.json)', () => {
  it('parses, and names only metrics Herald declares, with their labels; every metric is on it', () => {
    expect(dashboardProblems(readDashboard(), HERALD_METRICS)).toEqual([]);
  });

  it("declares exactly what prom-client's registry holds (so the check reads the real names)", async () => {
    const registered = (await register.getMetricsAsJSON()).map((m) => `${m.name} ${m.type}`);
    expect(registered.sort()).toEqual(HERALD_METRICS.map((m) => `${m.name} ${m.type}`).sort());
  });

  it('reads series and labels out of PromQL, leaving out functions, keywords and variables', () => {
    expect(
      promqlReferences(
        'histogram_quantile(0.99, sum by (le, provider) (rate(herald_provider_call_duration_seconds_bucket{channel="sms", job=~"herald-.*"}[$__rate_interval])))',
      ),
    ).toEqual({
      series: ['herald_provider_call_duration_seconds_bucket'],
      labels: ['channel', 'job', 'le', 'provider'],
    });
    expect(
      promqlReferences(
        'sum without (instance) (increase(a_total[5m])) / on (job) group_left b_total > bool 0',
      ),
    ).toEqual({ series: ['a_total', 'b_total'], labels: ['instance', 'job'] });
    expect(promqlReferences('sum(herald_consumer_lag offset 5m) * 1e3')).toEqual({
      series: ['herald_consumer_lag'],
      labels: [],
    });
  });

  it('fails a dashboard naming a metric that does not exist, a wrong label, or a bare counter', () => {
    const dashboard = readDashboard();
    const broken = structuredClone(dashboard);
    const panel = broken.panels!.find((p) => p.type === 'timeseries')!;
    panel.targets = [
      { refId: 'A', expr: 'sum(rate(herald_delivery_attempt_total[5m]))' },
      { refId: 'B', expr: 'sum by (provder) (rate(herald_delivery_attempts_total[5m]))' },
      { refId: 'C', expr: 'sum(herald_dead_letters_total)' },
      {
        refId: 'D',
        expr: 'histogram_quantile(0.5, sum(rate(herald_provider_call_duration_seconds_bucket[5m])))',
      },
      { refId: 'E', expr: 'herald_projector_projection_lag_seconds' },
    ];
    const problems = dashboardProblems(broken, HERALD_METRICS).join('\n');
    expect(problems).toMatch(/herald_delivery_attempt_total is not a metric Herald declares/);
    expect(problems).toMatch(/label provder is on none of herald_delivery_attempts_total/);
    expect(problems).toMatch(/sum\(herald_dead_letters_total\)` shows a counter without rate/);
    expect(problems).toMatch(/histogram_quantile over buckets not grouped by le/);
    expect(problems).toMatch(/herald_projector_projection_lag_seconds: a histogram needs _bucket/);
  });

  it('fails a dashboard without its datasource variable, or a panel on another datasource', () => {
    const broken = structuredClone(readDashboard());
    broken.templating = { list: [] };
    broken.panels!.find((p) => p.type === 'timeseries')!.datasource = { uid: 'prometheus-prod' };
    const problems = dashboardProblems(broken, HERALD_METRICS).join('\n');
    expect(problems).toMatch(/no `datasource` variable/);
    expect(problems).toMatch(/datasource is not \$\{datasource\}/);
  });
});
