import {
  decide,
  hookScriptOf,
  outcomeOf,
  parseLatency,
  parseScript,
  type Script,
} from '../../tools/provider-sim/src/engine/scripts';

function parsed(text: string): Script {
  const result = parseScript(text);
  if (!result.ok) throw new Error(result.error);
  return result.script;
}

function outcomes(text: string, attempts: number): string[] {
  const script = parsed(text);
  return Array.from({ length: attempts }, (_, i) => outcomeOf(decide(script, i + 1)));
}

describe('parseScript', () => {
  it.each<[string, Script]>([
    ['ok', { kind: 'ok' }],
    ['fail-503-2', { kind: 'fail', status: 503, count: 2 }],
    ['fail-400-1', { kind: 'fail', status: 400, count: 1 }],
    ['fail-500-0', { kind: 'fail', status: 500, count: 0 }],
    ['always-404', { kind: 'always', status: 404 }],
    ['retry-after-3-1', { kind: 'retry-after', seconds: 3, count: 1 }],
    ['retry-after-0-4', { kind: 'retry-after', seconds: 0, count: 4 }],
    ['reset-2', { kind: 'reset', count: 2 }],
    ['hang-1', { kind: 'hang', count: 1 }],
    ['error-channel_not_found-1', { kind: 'error', code: 'channel_not_found', count: 1 }],
    ['error-UNREGISTERED-2', { kind: 'error', code: 'UNREGISTERED', count: 2 }],
    ['error-BadDeviceToken-1', { kind: 'error', code: 'BadDeviceToken', count: 1 }],
    ['error-21211-3', { kind: 'error', code: '21211', count: 3 }],
    ['error-451-0', { kind: 'error', code: '451', count: 0 }],
  ])('reads %s', (text, script) => {
    expect(parseScript(text)).toEqual({ ok: true, script });
  });

  it.each([
    '',
    'OK',
    'okay',
    'fail-503',
    'fail-503-',
    'fail--1-2',
    'fail-abc-1',
    'always',
    'hang',
    'error-1',
    'error--1',
    'error-bad-code-1',
    'error-no.dots-1',
    'error-code',
  ])('names the unknown script %p', (text) => {
    const result = parseScript(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(`unknown script "${text}"`);
  });

  it.each(['fail-99-1', 'fail-600-1', 'always-199', 'always-1000'])(
    'rejects the out-of-range status in %s',
    (text) => {
      const result = parseScript(text);
      expect(result).toEqual({
        ok: false,
        error: expect.stringContaining('status must be 200..599'),
      });
      if (!result.ok) expect(result.error).toContain(text);
    },
  );

  it('rejects counts too large to mean anything', () => {
    expect(parseScript('hang-99999999999999999999').ok).toBe(false);
    expect(parseScript('reset-2000000000').ok).toBe(false);
  });

  it('lists error-<code>-<n> among the expected scripts', () => {
    const result = parseScript('nope');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('error-<code>-<n>');
  });

  it('rejects error codes too long to be a provider code', () => {
    expect(parseScript(`error-${'x'.repeat(64)}-1`).ok).toBe(true);
    const result = parseScript(`error-${'x'.repeat(65)}-1`);
    expect(result).toEqual({ ok: false, error: expect.stringContaining('at most 64') });
  });

  it('rejects a Retry-After of more than a week', () => {
    expect(parseScript('retry-after-604801-1').ok).toBe(false);
    expect(parseScript('retry-after-604800-1').ok).toBe(true);
  });
});

describe('decide', () => {
  it('ok always succeeds', () => {
    expect(outcomes('ok', 3)).toEqual(['200', '200', '200']);
  });

  it('fail-<status>-<n> fails the first n attempts, then succeeds', () => {
    expect(outcomes('fail-503-2', 4)).toEqual(['503', '503', '200', '200']);
    expect(outcomes('fail-500-0', 1)).toEqual(['200']);
  });

  it('always-<status> never succeeds', () => {
    expect(outcomes('always-410', 3)).toEqual(['410', '410', '410']);
  });

  it('retry-after-<s>-<n> answers 429 with the delay for the first n', () => {
    const script = parsed('retry-after-7-2');
    expect(decide(script, 1)).toEqual({ action: 'error', status: 429, retryAfterSeconds: 7 });
    expect(decide(script, 2)).toEqual({ action: 'error', status: 429, retryAfterSeconds: 7 });
    expect(decide(script, 3)).toEqual({ action: 'succeed' });
  });

  it('reset-<n> and hang-<n> misbehave for the first n, then succeed', () => {
    expect(outcomes('reset-1', 2)).toEqual(['reset', '200']);
    expect(outcomes('hang-2', 3)).toEqual(['hang', 'hang', '200']);
  });

  it('error-<code>-<n> names the provider error for the first n, then succeeds', () => {
    const script = parsed('error-channel_not_found-2');
    expect(decide(script, 1)).toEqual({ action: 'named-error', code: 'channel_not_found' });
    expect(decide(script, 2)).toEqual({ action: 'named-error', code: 'channel_not_found' });
    expect(decide(script, 3)).toEqual({ action: 'succeed' });
    expect(outcomeOf(decide(script, 1))).toBe('channel_not_found');
  });

  it('labels success with the route status', () => {
    expect(outcomeOf({ action: 'succeed' }, 202)).toBe('202');
  });
});

describe('hookScriptOf', () => {
  it('takes the first segment after /hooks/', () => {
    expect(hookScriptOf('/hooks/fail-503-2/msg-1/extra')).toBe('fail-503-2');
    expect(hookScriptOf('/hooks/ok')).toBe('ok');
    expect(hookScriptOf('/hooks/ok/')).toBe('ok');
  });

  it('finds no script outside /hooks/ or in an empty segment', () => {
    expect(hookScriptOf('/hooks/')).toBeUndefined();
    expect(hookScriptOf('/hooks//x')).toBeUndefined();
    expect(hookScriptOf('/hooksok/x')).toBeUndefined();
    expect(hookScriptOf('/v3/mail/send')).toBeUndefined();
  });
});

describe('parseLatency', () => {
  it('treats absent and empty as no override', () => {
    expect(parseLatency(undefined, 'latency')).toEqual({ ok: true, ms: undefined });
    expect(parseLatency(null, 'latency')).toEqual({ ok: true, ms: undefined });
    expect(parseLatency(' ', 'latency')).toEqual({ ok: true, ms: undefined });
  });

  it('reads whole milliseconds', () => {
    expect(parseLatency('0', 'latency')).toEqual({ ok: true, ms: 0 });
    expect(parseLatency(' 250 ', 'latency')).toEqual({ ok: true, ms: 250 });
  });

  it.each(['-1', '1.5', 'abc', '3600001', '1e3'])('rejects %p, naming the source', (value) => {
    const result = parseLatency(value, 'X-Sim-Latency-Ms');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/^X-Sim-Latency-Ms must be/);
  });
});
