import {
  describeRegistration,
  inlineScriptsOf,
  parseRegistration,
  RecipientRegistry,
  type Registration,
} from '../../tools/provider-sim/src/engine/recipients';

function registration(body: unknown): Registration {
  const result = parseRegistration(body);
  if (!result.ok) throw new Error(result.error);
  return result.registration;
}

describe('inlineScriptsOf', () => {
  it.each([
    ['fail-503-1+m42@sim.test', 'fail-503-1'],
    ['error-channel_not_found-1+C42', 'error-channel_not_found-1'],
    ['error-UNREGISTERED-1+tok12345678', 'error-UNREGISTERED-1'],
    ['always-550+x@sim.test', 'always-550'],
    ['retry-after-2-1++14155550123', 'retry-after-2-1'],
  ])('reads the send script of %s', (recipient, name) => {
    expect(inlineScriptsOf(recipient).send?.name).toBe(name);
    expect(inlineScriptsOf(recipient).status).toBeUndefined();
  });

  it('reads a status script, alone or after a send script, in either order', () => {
    expect(inlineScriptsOf('undelivered-after-200+m@sim.test')).toEqual({
      status: { name: 'undelivered-after-200', script: { kind: 'undelivered', afterMs: 200 } },
    });
    const both = inlineScriptsOf('fail-503-1+failed-after-0+m@sim.test');
    expect(both.send?.name).toBe('fail-503-1');
    expect(both.status?.name).toBe('failed-after-0');
    const reversed = inlineScriptsOf('pending+ok+m@sim.test');
    expect(reversed.send?.name).toBe('ok');
    expect(reversed.status?.name).toBe('pending');
  });

  it.each([
    'jane@sim.test',
    'jane+news@sim.test',
    '+14155550123',
    'fail-999-1+m@sim.test',
    'fial-503-1+m@sim.test',
    'C42',
    'tok+',
  ])('finds no script in the ordinary recipient %s', (recipient) => {
    expect(inlineScriptsOf(recipient)).toEqual({});
  });

  it('stops at the first segment that is not a script', () => {
    expect(inlineScriptsOf('fail-503-1+jane+always-500+x').send?.name).toBe('fail-503-1');
    // A second send script is address, not script: one send script per recipient.
    expect(inlineScriptsOf('fail-503-1+always-500+x').send?.name).toBe('fail-503-1');
  });
});

describe('parseRegistration', () => {
  it('reads send, status and check scripts', () => {
    expect(
      describeRegistration(
        'r',
        registration({ send: 'fail-503-1', status: 'failed-after-10', check: 'always-500' }),
      ),
    ).toEqual({
      recipient: 'r',
      send: 'fail-503-1',
      status: 'failed-after-10',
      check: 'always-500',
    });
  });

  it('treats missing and null fields as not scripted', () => {
    expect(describeRegistration('r', registration({ status: 'pending', send: null }))).toEqual({
      recipient: 'r',
      send: null,
      status: 'pending',
      check: null,
    });
    expect(registration({})).toEqual({});
  });

  it.each<[unknown, string, string]>([
    [{ send: 'fial-503-1' }, 'send', 'unknown script "fial-503-1"'],
    [{ check: 'fail-99-1' }, 'check', 'status must be 200..599'],
    [{ status: 'fail-503-1' }, 'status', 'unknown status script "fail-503-1"'],
    [{ send: 503 }, 'send', 'must be a script name'],
    [{ sned: 'ok' }, 'sned', 'unknown field "sned"'],
    [[], 'body', 'JSON object'],
    ['ok', 'body', 'JSON object'],
    [null, 'body', 'JSON object'],
  ])('rejects %p naming the field', (body, field, message) => {
    const result = parseRegistration(body);
    expect(result).toEqual({ ok: false, field, error: expect.stringContaining(message) });
  });
});

describe('RecipientRegistry', () => {
  it('forgets the oldest registration beyond its capacity', () => {
    const registry = new RecipientRegistry(2);
    registry.set('a', {});
    registry.set('b', {});
    registry.set('a', { send: { name: 'ok', script: { kind: 'ok' } } });
    registry.set('c', {});
    expect(registry.get('b')).toBeUndefined();
    expect(registry.get('a')?.send?.name).toBe('ok');
    expect(registry.size).toBe(2);
    expect(registry.delete('a')).toBe(true);
    registry.clear();
    expect(registry.size).toBe(0);
  });
});
