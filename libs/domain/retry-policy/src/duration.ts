/**
 * Durations as people write them in a policy file ("30s", "10m", "1h30m") and as Herald
 * prints them in exhaustion reasons, so both read the same way.
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

// `ms` is listed before `m` so that "500ms" is not read as 500 minutes followed by junk.
const PART = String.raw`(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)`;
const WHOLE = new RegExp(String.raw`^\s*(?:${PART}\s*)+$`);

/** Milliseconds in `text` ("1.5s", "10m", "1h 30m"), or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(new RegExp(PART, 'g'))) {
    total += Number(amount) * UNIT_MS[unit as Unit];
  }
  return total;
}

/** The shortest exact spelling of `ms`: 1800000 → "30m", 5400000 → "1h30m", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  let rest = ms;
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * UNIT_MS[unit];
    }
  }
  // Below a minute, "1.5s" reads better than "1s500ms"; sub-millisecond noise from scaling is cut.
  const rounded = Math.round(rest * 1000) / 1000;
  if (rounded >= 1000) parts.push(`${Math.round(rounded) / 1000}s`);
  else if (rounded > 0) parts.push(`${rounded}ms`);
  return parts.join('');
}
