import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyRegistry } from '@herald/config';
import { BUILT_IN_POLICIES, PolicyFileError, type RetryPolicy } from '@herald/retry-policy';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-policies-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The PolicyFileError that loading `text` as `name` throws. */
function failure(name: string, text: string): { file: string; error: PolicyFileError } {
  const file = write(name, text);
  try {
    loadPolicyRegistry(file);
  } catch (error) {
    if (error instanceof PolicyFileError) return { file, error };
    throw error;
  }
  throw new Error(`${name} loaded without an error`);
}

/** "line:column" of the first occurrence of `needle`, to cross-check the hand-counted ones. */
function positionOf(text: string, needle: string): string {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`${needle} is not in the fixture`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1) ?? '').length + 1}`;
}

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const GENTLE_SEND = [
  '    send:',
  '      kind: exponential',
  '      maxRetries: 5',
  '      window: 10m',
  '      base: 1s',
  '      factor: 2',
  '      jitter: equal',
];

describe('loadPolicyRegistry: good files', () => {
  const gentle: RetryPolicy = {
    name: 'gentle',
    send: {
      kind: 'exponential',
      maxRetries: 5,
      windowMs: 600_000,
      baseMs: 1_000,
      factor: 2,
      jitter: 'equal',
    },
    statusCheck: {
      kind: 'sequence',
      delaysMs: [1_000, 5_000, 30_000],
      thenEveryMs: 60_000,
      maxRetries: 10,
      windowMs: 3_600_000,
    },
  };

  it('reads YAML, next to the built-ins', () => {
    const file = write(
      'good.yaml',
      yaml(
        '# flow and block style both work',
        'policies:',
        '  gentle:',
        '    send: { kind: exponential, maxRetries: 5, window: 10m, base: 1s, factor: 2, jitter: equal }',
        '    statusCheck: { kind: sequence, delays: [1s, 5s, 30s], thenEvery: 1m, maxRetries: 10, window: 1h }',
        '  patient:',
        '    send:',
        '      kind: sequence',
        '      delays: [0, 2500, 1h 30m]',
        '      maxRetries: 3',
        '      window: 3d',
        '      # no statusCheck: this policy does not poll',
      ),
    );
    const registry = loadPolicyRegistry(file);
    expect(registry.names()).toEqual(['courier', 'gentle', 'knock', 'patient', 'webhook']);
    expect(registry.get('gentle')).toEqual(gentle);
    expect(registry.resolve('patient', 'sms')).toEqual({
      name: 'patient',
      send: {
        kind: 'sequence',
        delaysMs: [0, 2_500, 5_400_000],
        maxRetries: 3,
        windowMs: 259_200_000,
      },
      statusCheck: null,
    });
    expect(registry.get('knock')).toBe(BUILT_IN_POLICIES.knock);
  });

  it('reads JSON, with millisecond numbers or unit strings', () => {
    const file = write(
      'good.json',
      JSON.stringify(
        {
          policies: {
            gentle: {
              send: {
                kind: 'exponential',
                maxRetries: 5,
                window: '10m',
                base: 1000,
                factor: 2,
                jitter: 'equal',
              },
              statusCheck: {
                kind: 'sequence',
                delays: ['1s', 5000, '30s'],
                thenEvery: 60000,
                maxRetries: 10,
                window: '1h',
              },
            },
          },
        },
        null,
        '\t',
      ),
    );
    expect(loadPolicyRegistry(file).get('gentle')).toEqual(gentle);
  });

  it('replaces a built-in as a whole', () => {
    const file = write(
      'override.yml',
      yaml(
        'policies:',
        '  knock:',
        '    send: { kind: sequence, delays: [1s], thenEvery: 2s, maxRetries: 4, window: 1m }',
        '    statusCheck: null',
      ),
    );
    const registry = loadPolicyRegistry(file);
    expect(registry.resolve(null, 'email')).toEqual({
      name: 'knock',
      send: {
        kind: 'sequence',
        delaysMs: [1_000],
        thenEveryMs: 2_000,
        maxRetries: 4,
        windowMs: 60_000,
      },
      statusCheck: null,
    });
    expect(registry.get('courier')).toBe(BUILT_IN_POLICIES.courier);
    expect(registry.names()).toEqual(['courier', 'knock', 'webhook']);
  });

  it('gives just the built-ins without a file', () => {
    for (const file of [undefined, null, '', '  ']) {
      expect(loadPolicyRegistry(file).names()).toEqual(['courier', 'knock', 'webhook']);
    }
  });

  it('accepts an empty set of policies', () => {
    expect(loadPolicyRegistry(write('none.yaml', 'policies: {}\n')).names()).toHaveLength(3);
  });
});

describe('loadPolicyRegistry: mistakes, each reported with file, line, column and field', () => {
  it('points at a bad value', () => {
    const text = yaml('policies:', '  gentle:', ...GENTLE_SEND).replace(
      'maxRetries: 5',
      'maxRetries: -1',
    );
    const { file, error } = failure('negative.yaml', text);
    expect(positionOf(text, '-1')).toBe('5:19');
    expect(error.message).toBe(
      `${file}:5:19: policies.gentle.send.maxRetries: must be a whole number ≥ 0`,
    );
    expect(error).toMatchObject({
      file,
      line: 5,
      column: 19,
      path: 'policies.gentle.send.maxRetries',
      problem: 'must be a whole number ≥ 0',
    });
  });

  it('points a missing field at the key of its parent', () => {
    const text = yaml(
      'policies:',
      '  gentle:',
      ...GENTLE_SEND.filter((line) => !line.includes('window')),
    );
    const { file, error } = failure('missing.yaml', text);
    expect(error.message).toBe(`${file}:3:5: policies.gentle.send.window: is required`);
  });

  it('refuses an unknown key, and lists every problem in file order', () => {
    const text = yaml('policies:', '  gentle:', ...GENTLE_SEND).replace('maxRetries:', 'maxRetry:');
    const { file, error } = failure('typo.yaml', text);
    expect(error.message.split('\n')).toEqual([
      `${file}:3:5: policies.gentle.send.maxRetries: is required`,
      `${file}:5:7: policies.gentle.send.maxRetry: unknown key (allowed: kind, maxRetries, window, base, factor, maxDelay, jitter)`,
    ]);
    expect(error.problems).toHaveLength(2);
  });

  it('refuses an unknown key in a policy and at the top', () => {
    const text = yaml('policies:', '  gentle:', ...GENTLE_SEND, '    statusChek: null', 'extra: 1');
    const { file, error } = failure('unknown.yaml', text);
    expect(error.message.split('\n')).toEqual([
      `${file}:10:5: policies.gentle.statusChek: unknown key (allowed: send, statusCheck, failoverAfter)`,
      `${file}:11:1: extra: unknown key (the file holds only "policies")`,
    ]);
  });

  it('points into lists', () => {
    const text = yaml(
      'policies:',
      '  gentle:',
      ...GENTLE_SEND,
      '    statusCheck: { kind: sequence, delays: [1s, 5 sec, 30s], maxRetries: 3, window: 1h }',
    );
    const { file, error } = failure('list.yaml', text);
    expect(positionOf(text, '5 sec')).toBe('10:49');
    expect(error.message).toBe(
      `${file}:10:49: policies.gentle.statusCheck.delays[1]: must be a duration: a number of milliseconds, or a string such as 500ms, 30s, 10m, 1h or 3d`,
    );
  });

  it.each([
    ['kind: exponentail', 'kind', 'must be exponential or sequence'],
    ['jitter: random', 'jitter', 'must be one of none, equal, full'],
    ['factor: 0.5', 'factor', 'must be a number ≥ 1'],
    ['factor: two', 'factor', 'must be a number ≥ 1'],
    ['window: 0s', 'window', 'must be longer than 0'],
    ['base: -5', 'base', 'must not be negative'],
  ])('explains %s', (line, field, problem) => {
    const key = line.split(':')[0] ?? '';
    const lines = GENTLE_SEND.map((original) =>
      original.trim().startsWith(`${key}:`) ? `      ${line}` : original,
    );
    const text = yaml('policies:', '  gentle:', ...lines);
    const { file, error } = failure(`${field}.yaml`, text);
    const valueAt = positionOf(text, line).replace(/\d+$/, (col) =>
      String(Number(col) + key.length + 2),
    );
    expect(error.message).toBe(`${file}:${valueAt}: policies.gentle.send.${field}: ${problem}`);
  });

  it('requires a kind', () => {
    const text = yaml('policies:', '  gentle:', '    send: { maxRetries: 1 }');
    const { file, error } = failure('no-kind.yaml', text);
    expect(error.message).toBe(
      `${file}:3:5: policies.gentle.send.kind: is required (exponential or sequence)`,
    );
  });

  it('does not let a sequence claim more retries than it lists', () => {
    const text = yaml(
      'policies:',
      '  short:',
      '    send: { kind: sequence, delays: [1s, 2s], maxRetries: 5, window: 1h }',
    );
    const { file, error } = failure('short.yaml', text);
    expect(positionOf(text, '5, window')).toBe('3:59');
    expect(error.message).toBe(
      `${file}:3:59: policies.short.send.maxRetries: is 5 but only 2 delays are listed; add thenEvery or list more delays`,
    );
  });

  it('refuses a policy name that would make paths ambiguous', () => {
    const text = yaml('policies:', '  my.policy:', ...GENTLE_SEND);
    const { file, error } = failure('name.yaml', text);
    expect(error.message).toBe(
      `${file}:2:3: policies.my.policy: policy names use only letters, digits, "-" and "_"`,
    );
  });

  it('reports positions in JSON files too', () => {
    const text = JSON.stringify(
      {
        policies: {
          fast: { send: { kind: 'sequence', delays: ['5s'], maxRetries: 1, window: '0s' } },
        },
      },
      null,
      2,
    );
    const { file, error } = failure('bad.json', text);
    expect(positionOf(text, '"0s"')).toBe('10:19');
    expect(error.message).toBe(`${file}:10:19: policies.fast.send.window: must be longer than 0`);
  });

  it('says what the whole file should be', () => {
    expect(failure('empty.yaml', '').error.message).toMatch(
      /empty\.yaml:1:1: must be a mapping with a "policies" key$/,
    );
    const { file, error } = failure('list.json', '[1, 2]');
    expect(error.message).toBe(`${file}:1:1: must be a mapping with a "policies" key`);
    const missing = failure('nothing.yaml', 'policies:\n');
    expect(missing.error.message).toBe(
      `${missing.file}:1:1: policies: must be a mapping of policies`,
    );
  });
});

describe('loadPolicyRegistry: files that cannot be parsed or read', () => {
  it('gives the line of a YAML syntax error', () => {
    const text = yaml('policies:', '  gentle:', ...GENTLE_SEND, '      factor: 3');
    const { file, error } = failure('duplicate.yaml', text);
    expect(error.message).toMatch(
      new RegExp(`^${escapeRegExp(file)}:10:7: syntax error: .*unique`),
    );
    expect(error.line).toBe(10);

    const broken = failure('broken.yaml', yaml('policies:', '  gentle:', '    send: { kind: [x'));
    expect(broken.error.message).toMatch(/broken\.yaml:\d+:\d+: syntax error: /);
    expect(broken.error.line).toBeGreaterThanOrEqual(3);
  });

  it('gives the line of a JSON syntax error', () => {
    const text =
      '{\n  "policies": {\n    "a": {\n      "send": {"kind": sequence}\n    }\n  }\n}\n';
    const { file, error } = failure('broken.json', text);
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(file)}:4:24: syntax error: `));
  });

  it('reports a file that cannot be read', () => {
    const file = join(dir, 'absent.yaml');
    expect(() => loadPolicyRegistry(file)).toThrow(PolicyFileError);
    expect(() => loadPolicyRegistry(file)).toThrow(`${file}: cannot read the file: ENOENT`);
  });

  it('refuses an unknown file type', () => {
    const file = write('policies.toml', 'policies = {}');
    expect(() => loadPolicyRegistry(file)).toThrow(
      `${file}: unsupported file type ".toml": use .json, .yaml or .yml`,
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
