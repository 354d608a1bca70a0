import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration';
import { type RetryPolicy, type Schedule } from './schedules';

/**
 * The user's retry policies file (HERALD_RETRY_POLICIES_FILE), JSON or YAML:
 *
 *   policies:
 *     gentle:
 *       send: { kind: exponential, maxRetries: 5, window: 10m, base: 1s, factor: 2, jitter: equal }
 *       statusCheck: { kind: sequence, delays: [1s, 5s, 30s], thenEvery: 1m, maxRetries: 10, window: 1h }
 *       failoverAfter: 2m   # optional, default 5m: when a message with fallbacks moves on
 *
 * A service reads it once at start, so every mistake is reported there with the file, line and
 * column, rather than surfacing later as a message retried on the wrong schedule.
 */

export interface PolicyFileProblem {
  /** 1-based; absent when the file could not be read at all. */
  line?: number;
  column?: number;
  /** Where in the document, e.g. `policies.gentle.send.maxRetries`. */
  path?: string;
  problem: string;
}

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly path: string | undefined;
  readonly problem: string;

  /** The message leads with the first problem in file order, then lists the rest a line each. */
  constructor(
    readonly file: string,
    readonly problems: readonly [PolicyFileProblem, ...PolicyFileProblem[]],
  ) {
    super(problems.map((problem) => formatProblem(file, problem)).join('\n'));
    const [first] = problems;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.problem = first.problem;
  }
}

/** The policies in `source`; `file` names it in errors and its extension picks the format. */
export function parsePolicyFile(source: string, file: string): RetryPolicy[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    // The JSON schema refuses unquoted strings, which are valid YAML but not valid JSON.
    ...(policyFileFormat(file) === 'json' ? { schema: 'json' as const } : {}),
  });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const syntaxProblems = doc.errors.map((error) => ({
    ...at(error.pos[0]),
    problem: `syntax error: ${error.message}`,
  }));
  throwIfAny(file, syntaxProblems);

  const parsed = policyFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const located = parsed.error.issues
      .flatMap((issue) => problemsOf(issue))
      .map(({ path, target, problem }) => ({ offset: locate(doc, path, target), path, problem }))
      .sort((a, b) => a.offset - b.offset);
    throwIfAny(
      file,
      located.map(({ offset, path, problem }) => ({
        ...at(offset),
        ...(path.length > 0 ? { path: formatPath(path) } : {}),
        problem,
      })),
    );
  }

  return Object.entries(parsed.data?.policies ?? {}).map(([name, entry]) => ({
    name,
    send: toSchedule(entry.send),
    statusCheck: entry.statusCheck ? toSchedule(entry.statusCheck) : null,
    ...(entry.failoverAfter === undefined ? {} : { failoverAfterMs: entry.failoverAfter }),
  }));
}

// ---- the schema ---------------------------------------------------------------------------

type Path = readonly PropertyKey[];

const requiredOr =
  (expected: string) =>
  (issue: { readonly input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

const DURATION =
  'must be a duration: a number of milliseconds, or a string such as 500ms, 30s, 10m, 1h or 3d';

function duration(options: { positive: boolean }) {
  return z
    .union([z.number(), z.string()], { error: requiredOr(DURATION.slice('must be '.length)) })
    .transform((value, context) => {
      const ms = typeof value === 'number' ? value : parseDuration(value);
      const problem =
        ms === undefined
          ? DURATION
          : ms < 0
            ? 'must not be negative'
            : options.positive && ms === 0
              ? 'must be longer than 0'
              : undefined;
      if (problem === undefined && ms !== undefined) return ms;
      context.issues.push({ code: 'custom', message: problem ?? DURATION, input: value });
      return z.NEVER;
    });
}

const WHOLE = 'a whole number ≥ 0';
const maxRetries = z
  .number({ error: requiredOr(WHOLE) })
  .int(`must be ${WHOLE}`)
  .min(0, `must be ${WHOLE}`);

/** Strict, because a misspelt key silently ignored would mean a policy other than the one meant. */
function strictMapping<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key (allowed: ${allowed})`
        : requiredOr('a mapping')(issue),
  });
}

const exponentialEntry = strictMapping({
  kind: z.literal('exponential'),
  maxRetries,
  window: duration({ positive: true }),
  base: duration({ positive: false }),
  factor: z.number({ error: requiredOr('a number ≥ 1') }).min(1, 'must be a number ≥ 1'),
  maxDelay: duration({ positive: false }).optional(),
  jitter: z.enum(['none', 'equal', 'full'], { error: requiredOr('one of none, equal, full') }),
});

const sequenceEntry = strictMapping({
  kind: z.literal('sequence'),
  delays: z.array(duration({ positive: false }), { error: requiredOr('a list of durations') }),
  thenEvery: duration({ positive: false }).optional(),
  maxRetries,
  window: duration({ positive: true }),
}).superRefine((entry, context) => {
  if (entry.thenEvery === undefined && entry.maxRetries > entry.delays.length) {
    context.addIssue({
      code: 'custom',
      path: ['maxRetries'],
      message: `is ${entry.maxRetries} but only ${entry.delays.length} delays are listed; add thenEvery or list more delays`,
    });
  }
});

const scheduleEntry = z.discriminatedUnion('kind', [exponentialEntry, sequenceEntry], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return requiredOr('a mapping')(issue);
    const kind = (issue.input as { kind?: unknown } | null | undefined)?.kind;
    return kind === undefined
      ? 'is required (exponential or sequence)'
      : 'must be exponential or sequence';
  },
});

const policyEntry = strictMapping({
  send: scheduleEntry,
  statusCheck: scheduleEntry.nullable().optional(),
  failoverAfter: duration({ positive: true }).optional(),
});

// Names end up in field paths and log lines, where dots or spaces would make them ambiguous.
const policyName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'policy names use only letters, digits, "-" and "_"');

const policyFileSchema = z.strictObject(
  { policies: z.record(policyName, policyEntry, { error: requiredOr('a mapping of policies') }) },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'unknown key (the file holds only "policies")'
        : 'must be a mapping with a "policies" key',
  },
);

type ScheduleEntry = z.output<typeof scheduleEntry>;

function toSchedule(entry: ScheduleEntry): Schedule {
  if (entry.kind === 'exponential') {
    return {
      kind: 'exponential',
      maxRetries: entry.maxRetries,
      windowMs: entry.window,
      baseMs: entry.base,
      factor: entry.factor,
      ...(entry.maxDelay !== undefined ? { maxDelayMs: entry.maxDelay } : {}),
      jitter: entry.jitter,
    };
  }
  return {
    kind: 'sequence',
    delaysMs: entry.delays,
    ...(entry.thenEvery !== undefined ? { thenEveryMs: entry.thenEvery } : {}),
    maxRetries: entry.maxRetries,
    windowMs: entry.window,
  };
}

// ---- locating problems in the document ---------------------------------------------------

/** A problem is pointed at a value, or at a key when the key itself is wrong. */
type Target = 'value' | 'key';

function problemsOf(issue: z.core.$ZodIssue): { path: Path; target: Target; problem: string }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: [...issue.path, key],
      target: 'key' as const,
      problem: issue.message,
    }));
  }
  if (issue.code === 'invalid_key') {
    return [
      { path: issue.path, target: 'key', problem: issue.issues[0]?.message ?? issue.message },
    ];
  }
  return [{ path: issue.path, target: 'value', problem: issue.message }];
}

/**
 * The source offset of the node at `path`. A missing field is reported at the key of its nearest
 * existing parent (`send:` for a missing `send.maxRetries`), which is where it would be added.
 */
function locate(doc: Document, path: Path, target: Target): number {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const segment = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) continue;
      const value = pair.value;
      const valueIsThere = isNode(value) && !(isScalar(value) && value.value === null);
      if (depth === path.length && target === 'value' && valueIsThere && value.range) {
        return value.range[0];
      }
      if (isNode(pair.key) && pair.key.range) return pair.key.range[0];
    } else if (isSeq(parent) && typeof segment === 'number') {
      const item = parent.items[segment];
      if (isNode(item) && item.range) return item.range[0];
    }
  }
  return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : 0;
}

function formatPath(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

function formatProblem(file: string, { line, column, path, problem }: PolicyFileProblem): string {
  const position = line === undefined ? '' : `:${line}:${column ?? 1}`;
  return `${file}${position}: ${path === undefined ? '' : `${path}: `}${problem}`;
}

function throwIfAny(file: string, problems: PolicyFileProblem[]): void {
  const [first, ...rest] = problems;
  if (first) throw new PolicyFileError(file, [first, ...rest]);
}

/**
 * The format a policy file's extension names; any other extension is refused before the file is
 * read. (Its last path segment's last dot, as node:path's extname finds it.)
 */
export function policyFileFormat(file: string): 'json' | 'yaml' {
  const name = file.split(/[\\/]/).pop() ?? '';
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot).toLowerCase() : '';
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  throw new PolicyFileError(file, [
    { problem: `unsupported file type "${extension || '(none)'}": use .json, .yaml or .yml` },
  ]);
}
