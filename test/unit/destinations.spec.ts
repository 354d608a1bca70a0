import {
  allowedHost,
  blockedAddress,
  literalAddress,
  parseAllowlist,
  STRICT_DESTINATIONS,
  type DestinationPolicy,
} from '@herald/destinations';
import { BLOCKED_DESTINATION_CODE, classifyTransportError } from '@herald/error-classification';
import { BlockedDestinationError, guardedLookup, setDestinationPolicy } from '@herald/providers';

// Addresses as strings only: nothing here opens a connection.
describe('destination rules', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['fd00:ec2::254', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(blockedAddress(address, STRICT_DESTINATIONS)).toContain(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(blockedAddress(address, STRICT_DESTINATIONS)).toBeNull();
  });

  it('allows everything with HERALD_ALLOW_PRIVATE_NETWORKS, and the allowlisted CIDRs and hosts', () => {
    expect(
      blockedAddress('127.0.0.1', { ...STRICT_DESTINATIONS, allowPrivateNetworks: true }),
    ).toBeNull();
    const allow = parseAllowlist('10.0.0.0/8, fd00::/8, 192.168.1.5, hooks.internal');
    if ('problem' in allow) throw new Error(allow.problem);
    const policy: DestinationPolicy = { allowPrivateNetworks: false, ...allow };
    expect(blockedAddress('10.9.9.9', policy)).toBeNull();
    expect(blockedAddress('::ffff:10.9.9.9', policy)).toBeNull();
    expect(blockedAddress('fd12::1', policy)).toBeNull();
    expect(blockedAddress('192.168.1.5', policy)).toBeNull();
    expect(blockedAddress('192.168.1.6', policy)).not.toBeNull();
    expect(allowedHost('HOOKS.internal', policy)).toBe(true);
    expect(allowedHost('other.internal', policy)).toBe(false);
  });

  it('names a bad allowlist entry', () => {
    expect(parseAllowlist('10.0.0.0/99')).toEqual({
      problem: expect.stringContaining('10.0.0.0/99'),
    });
    expect(parseAllowlist('a b')).toEqual({ problem: expect.stringContaining('a b') });
  });

  it('reads the address in a URL host, whatever spelling the URL parser left', () => {
    expect(literalAddress(new URL('http://2130706433/').hostname)).toBe('127.0.0.1');
    expect(literalAddress(new URL('http://[::ffff:127.0.0.1]/').hostname)).toBe('::ffff:7f00:1');
    expect(literalAddress(new URL('http://0x7f.1/').hostname)).toBe('127.0.0.1');
    expect(literalAddress('hooks.example.com')).toBeNull();
  });

  it('classifies a refused call as non_retryable blocked_destination', () => {
    const error = classifyTransportError(
      Object.assign(new TypeError('fetch failed'), {
        cause: new BlockedDestinationError('localhost', '127.0.0.1 is a loopback address'),
      }),
    );
    expect(error).toMatchObject({ category: 'non_retryable', code: BLOCKED_DESTINATION_CODE });
  });
});

describe('the resolver hook', () => {
  afterEach(() => setDestinationPolicy(STRICT_DESTINATIONS));

  // localhost resolves from /etc/hosts: no DNS query leaves the machine, no connection is made.
  const resolve = (all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; result: unknown }>((done) =>
      guardedLookup('localhost', { all }, (error, result) => done({ error, result })),
    );

  it('refuses a name that resolves only to refused addresses', async () => {
    for (const all of [false, true]) {
      const { error } = await resolve(all);
      expect(error).toBeInstanceOf(BlockedDestinationError);
      expect((error as BlockedDestinationError).code).toBe(BLOCKED_DESTINATION_CODE);
    }
  });

  it('hands the addresses on when the policy allows them', async () => {
    setDestinationPolicy({ ...STRICT_DESTINATIONS, allowPrivateNetworks: true });
    expect((await resolve(false)).error).toBeNull();
    const { error, result } = await resolve(true);
    expect(error).toBeNull();
    expect(Array.isArray(result) && result.length).toBeGreaterThan(0);
  });
});
