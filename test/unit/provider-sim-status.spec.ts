import {
  DEFAULT_STATUS_SCRIPT,
  MAX_STATUS_AFTER_MS,
  parseStatusScript,
  phaseAt,
  statusScriptName,
  type StatusScript,
} from '../../tools/provider-sim/src/engine/status-scripts';

function parsed(text: string): StatusScript {
  const result = parseStatusScript(text);
  if (!result.ok) throw new Error(result.error);
  return result.script;
}

describe('parseStatusScript', () => {
  it.each<[string, StatusScript]>([
    ['delivered-after-500', { kind: 'delivered', afterMs: 500 }],
    ['undelivered-after-0', { kind: 'undelivered', afterMs: 0 }],
    ['failed-after-1200', { kind: 'failed', afterMs: 1200 }],
    ['pending', { kind: 'pending' }],
  ])('reads %s', (text, script) => {
    expect(parseStatusScript(text)).toEqual({ ok: true, script });
    expect(statusScriptName(script)).toBe(text);
  });

  it('has a parseable default', () => {
    expect(parseStatusScript(DEFAULT_STATUS_SCRIPT)).toEqual({
      ok: true,
      script: { kind: 'delivered', afterMs: 500 },
    });
  });

  it.each(['', 'delivered', 'delivered-after-', 'delivered-after--1', 'bounced-after-5', 'ok'])(
    'names the unknown status script %p and the choices',
    (text) => {
      const result = parseStatusScript(text);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).toContain(`unknown status script "${text}"`);
        expect(result.error).toContain('delivered-after-<ms>');
      }
    },
  );

  it('rejects delays beyond a week', () => {
    expect(parseStatusScript(`failed-after-${MAX_STATUS_AFTER_MS}`).ok).toBe(true);
    const result = parseStatusScript(`failed-after-${MAX_STATUS_AFTER_MS + 1}`);
    expect(result).toEqual({ ok: false, error: expect.stringContaining('ms must be') });
  });
});

describe('phaseAt', () => {
  const acceptedAt = 1_700_000_000_000;

  it.each<[string, 'delivered' | 'undelivered' | 'failed']>([
    ['delivered-after-500', 'delivered'],
    ['undelivered-after-500', 'undelivered'],
    ['failed-after-500', 'failed'],
  ])('%s is pending until the delay has passed, then final', (text, final) => {
    const script = parsed(text);
    expect(phaseAt(script, acceptedAt, acceptedAt)).toEqual({
      phase: 'pending',
      since: acceptedAt,
    });
    expect(phaseAt(script, acceptedAt, acceptedAt + 499)).toEqual({
      phase: 'pending',
      since: acceptedAt,
    });
    expect(phaseAt(script, acceptedAt, acceptedAt + 500)).toEqual({
      phase: final,
      since: acceptedAt + 500,
    });
    expect(phaseAt(script, acceptedAt, acceptedAt + 60_000)).toEqual({
      phase: final,
      since: acceptedAt + 500,
    });
  });

  it('-after-0 is final on the first lookup', () => {
    expect(phaseAt(parsed('failed-after-0'), acceptedAt, acceptedAt).phase).toBe('failed');
  });

  it('pending never becomes final', () => {
    const script = parsed('pending');
    expect(phaseAt(script, acceptedAt, acceptedAt + 86_400_000 * 30)).toEqual({
      phase: 'pending',
      since: acceptedAt,
    });
  });
});
