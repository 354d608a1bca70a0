/**
 * Parsing of the HTTP `Retry-After` header (RFC 9110 §10.2.3): either delay-seconds or an
 * HTTP-date. Recipients must accept all three HTTP-date forms (IMF-fixdate, the obsolete
 * RFC 850 form and asctime), so all three are parsed here, strictly: `Date.parse` would accept
 * almost any text and turn garbage into a plausible-looking delay.
 */

/**
 * The longest delay Herald will honour: 7 days. No retry policy runs longer than 3 days, so a
 * larger value is a provider bug (or a date in the wrong century) and must not park a message
 * for months.
 */
export const MAX_RETRY_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

const DELTA_SECONDS = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const SHORT_DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// Case-insensitive although RFC 9110 says HTTP-date is case-sensitive: being lenient costs
// nothing and some servers lower-case the whole header.
const IMF_FIXDATE = new RegExp(`^${SHORT_DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^${SHORT_DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/**
 * The delay in milliseconds a `Retry-After` value asks for, measured from `now`; 0 for a
 * negative delay or a date in the past, at most {@link MAX_RETRY_AFTER_MS}; undefined when the
 * value is absent or is neither delay-seconds nor an HTTP-date. Fractional seconds are
 * tolerated and rounded up, so a retry never fires before the provider asked.
 */
export function parseRetryAfter(
  value: string | readonly string[] | null | undefined,
  now: number,
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;

  if (DELTA_SECONDS.test(text)) {
    return clampDelay(Math.ceil(Number(text) * 1000));
  }
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : clampDelay(at - now);
}

function clampDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Epoch milliseconds of an HTTP-date in any of its three forms, or undefined. */
export function parseHttpDate(text: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, day, month, year, hh, mm, ss] = match;
    return utc(Number(year), month, Number(day), hh, mm, ss);
  }
  match = RFC850_DATE.exec(text);
  if (match) {
    const [, day, month, yy, hh, mm, ss] = match;
    return utc(fullYear(Number(yy), now), month, Number(day), hh, mm, ss);
  }
  match = ASCTIME_DATE.exec(text);
  if (match) {
    const [, month, day, hh, mm, ss, year] = match;
    return utc(Number(year), month, Number(day), hh, mm, ss);
  }
  return undefined;
}

/** RFC 9110: a two-digit year that looks more than 50 years ahead is in the past century. */
function fullYear(twoDigits: number, now: number): number {
  const currentYear = new Date(now).getUTCFullYear();
  let year = Math.floor(currentYear / 100) * 100 + twoDigits;
  if (year > currentYear + 50) year -= 100;
  return year;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: number,
  hh: string | undefined,
  mm: string | undefined,
  ss: string | undefined,
): number | undefined {
  const month = MONTHS[(monthName ?? '').toLowerCase()];
  const hours = Number(hh);
  const minutes = Number(mm);
  const seconds = Number(ss);
  if (month === undefined || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const at = Date.UTC(year, month, day, hours, minutes, Math.min(seconds, 59));
  // Date.UTC rolls "31 Feb" over into March; such a date is malformed, not a real instant.
  if (new Date(at).getUTCDate() !== day) return undefined;
  return at;
}
