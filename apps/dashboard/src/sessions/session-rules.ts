import { timingSafeEqual } from 'node:crypto';

// The dashboard's session and CSRF rules, as pure functions of what a request says (the unit
// tests read them without a server).

/** With Secure (HTTPS, or a loopback host, which browsers treat as secure): host-only, path /. */
export const SECURE_COOKIE = '__Host-herald_dash';
/** Over plain HTTP to a non-loopback host a Secure cookie would never come back. */
export const PLAIN_COOKIE = 'herald_dash';

/** 256 random bits, base64url: what the cookie and the CSRF token hold. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface RequestFacts {
  /** Express's req.secure: HTTPS here, or at a trusted proxy. */
  secure: boolean;
  /** The Host header (host[:port]). */
  host: string | undefined;
}

/** Whether the session cookie is marked Secure (and so named with the `__Host-` prefix). */
export function cookieIsSecure({ secure, host }: RequestFacts): boolean {
  return secure || isLoopbackHost(host);
}

export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * The Set-Cookie value of a new session: HttpOnly (no script reads it), SameSite=Strict (no
 * other site's page sends it), Path=/, and Secure where the browser will send it back.
 */
export function sessionCookie(token: string, secure: boolean, maxAgeSeconds: number): string {
  const name = secure ? SECURE_COOKIE : PLAIN_COOKIE;
  const attributes = [`Max-Age=${maxAgeSeconds}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (secure) attributes.push('Secure');
  return [`${name}=${token}`, ...attributes].join('; ');
}

/** Both names expired, so signing out also clears a cookie set before a change of address. */
export function clearedCookies(): string[] {
  return [
    `${SECURE_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure`,
    `${PLAIN_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict`,
  ];
}

/** The session token a Cookie header carries, if it is well formed (the `__Host-` one first). */
export function sessionTokenOf(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  const values = new Map<string, string>();
  for (const part of cookieHeader.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!values.has(name)) values.set(name, part.slice(at + 1).trim());
  }
  for (const name of [SECURE_COOKIE, PLAIN_COOKIE]) {
    const value = values.get(name);
    if (value !== undefined && TOKEN.test(value)) return value;
  }
  return null;
}

/** The form's `_csrf` against the session's, in constant time. */
export function csrfMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

/**
 * Whether a state-changing request comes from the dashboard's own pages, by what the browser
 * says of it (OWASP's fetch-metadata and origin checks): `Sec-Fetch-Site` when sent, else
 * `Origin` against the Host it was sent to. A request with neither is not from a browser (a
 * browser sends Origin with every cross-site POST), so it cannot be a forged one; it still needs
 * the session's CSRF token wherever a session is involved. This is what guards the sign-in form
 * too, where no session exists yet (login CSRF).
 */
export function sameOrigin(headers: {
  secFetchSite: string | undefined;
  origin: string | undefined;
  host: string | undefined;
}): boolean {
  if (headers.secFetchSite !== undefined) return headers.secFetchSite === 'same-origin';
  if (headers.origin === undefined) return true;
  if (headers.origin === 'null' || !headers.host) return false;
  try {
    return new URL(headers.origin).host === headers.host.toLowerCase();
  } catch {
    return false;
  }
}
