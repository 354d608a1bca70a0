import {
  DELAY_TIERS,
  decodeDueAt,
  encodeDueAt,
  HOP_ALLOWANCE_MS,
  releaseAt,
  routeFor,
  tierTopic,
} from '@herald/delay-tiers';

const now = 1_700_000_000_000;

describe('delay tiers', () => {
  it('sends anything due within the smallest hold straight to the work topic', () => {
    expect(routeFor(now, now)).toBe('work');
    expect(routeFor(now + 249, now)).toBe('work');
    expect(routeFor(now - 5_000, now)).toBe('work');
  });

  it('picks the largest tier whose hold fits in the remaining wait', () => {
    expect(routeFor(now + 250, now)).toMatchObject({ label: '250ms' });
    expect(routeFor(now + 999, now)).toMatchObject({ label: '250ms' });
    expect(routeFor(now + 1_000, now)).toMatchObject({ label: '1s' });
    expect(routeFor(now + 29_999, now)).toMatchObject({ label: '5s' });
    expect(routeFor(now + 30_000, now)).toMatchObject({ label: '30s' });
    expect(routeFor(now + 3 * 3_600_000, now)).toMatchObject({ label: '1h' });
  });

  it('never releases a record after it is due, nor routes it past its due time', () => {
    for (let remaining = 0; remaining < 8_000_000; remaining += 997) {
      const route = routeFor(now + remaining, now);
      if (route === 'work') {
        expect(remaining).toBeLessThan(250);
      } else {
        expect(route.holdMs).toBeLessThanOrEqual(remaining);
        expect(releaseAt(now, now + remaining, route)).toBeLessThanOrEqual(
          now + remaining - HOP_ALLOWANCE_MS,
        );
      }
    }
  });

  it('reaches the work topic in few hops for a 3-hour wait, each hop taking the allowance', () => {
    let at = now;
    const dueAt = now + 3 * 3_600_000 + 42_123;
    const hops: string[] = [];
    for (let route = routeFor(dueAt, at); route !== 'work'; route = routeFor(dueAt, at)) {
      hops.push(route.label);
      at = releaseAt(at, dueAt, route) + HOP_ALLOWANCE_MS;
    }
    expect(hops).toEqual(['1h', '1h', '1h', '30s', '5s', '5s', '1s', '1s']);
    expect(dueAt - at).toBeLessThan(250);
  });

  it('lets a record go ahead of time by the hop allowance, also when appended late', () => {
    const tier = DELAY_TIERS[2]!; // 5 s
    expect(releaseAt(now, now + 60_000, tier)).toBe(now + 5_000 - HOP_ALLOWANCE_MS);
    // Routed with 5 s to go but appended 90 ms later: its hold would end past its due time.
    expect(releaseAt(now + 90, now + 5_000, tier)).toBe(now + 5_000 - HOP_ALLOWANCE_MS);
  });

  it('keeps release order equal to append order within a tier', () => {
    const tier = DELAY_TIERS[2]!;
    const releases = [0, 10, 20].map((offset) => releaseAt(now + offset, now + 10 * 60_000, tier));
    expect([...releases].sort((a, b) => a - b)).toEqual(releases);
  });

  it('names tier topics after the work topic', () => {
    expect(tierTopic('herald.deliveries', DELAY_TIERS[1]!)).toBe('herald.deliveries.delay.1s');
  });

  it('round-trips the due-time header and rejects garbage', () => {
    expect(decodeDueAt(Buffer.from(encodeDueAt(now + 0.4)))).toBe(now);
    expect(decodeDueAt('nope')).toBeUndefined();
    expect(decodeDueAt(undefined)).toBeUndefined();
  });
});
