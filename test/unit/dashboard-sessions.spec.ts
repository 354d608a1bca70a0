import {
  clearedCookies,
  cookieIsSecure,
  csrfMatches,
  isLoopbackHost,
  PLAIN_COOKIE,
  sameOrigin,
  SECURE_COOKIE,
  sessionCookie,
  sessionTokenOf,
} from '../../apps/dashboard/src/sessions/session-rules';
import { DASHBOARD_HELMET } from '../../apps/dashboard/src/http-setup';

const TOKEN = 'A'.repeat(43);

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, host-only and Secure where the browser sends it back', () => {
    const cookie = sessionCookie(TOKEN, true, 3600);
    expect(cookie).toBe(
      `${SECURE_COOKIE}=${TOKEN}; Max-Age=3600; Path=/; HttpOnly; SameSite=Strict; Secure`,
    );
    expect(cookie).not.toMatch(/Domain=/);
  });

  it('drops Secure (and the __Host- name, which requires it) over plain HTTP to another host', () => {
    expect(sessionCookie(TOKEN, false, 60)).toBe(
      `${PLAIN_COOKIE}=${TOKEN}; Max-Age=60; Path=/; HttpOnly; SameSite=Strict`,
    );
  });

  it('is Secure behind HTTPS and on loopback hosts, which browsers treat as secure', () => {
    expect(cookieIsSecure({ secure: true, host: 'herald.example.com' })).toBe(true);
    expect(cookieIsSecure({ secure: false, host: '127.0.0.1:3004' })).toBe(true);
    expect(cookieIsSecure({ secure: false, host: 'localhost:3004' })).toBe(true);
    expect(cookieIsSecure({ secure: false, host: '[::1]:3004' })).toBe(true);
    expect(cookieIsSecure({ secure: false, host: 'dashboard.internal:3004' })).toBe(false);
    expect(cookieIsSecure({ secure: false, host: undefined })).toBe(false);
  });

  it('recognises loopback hosts only', () => {
    expect(isLoopbackHost('127.8.9.10')).toBe(true);
    expect(isLoopbackHost('127.0.0.1.example.com')).toBe(false);
    expect(isLoopbackHost('localhost.example.com:80')).toBe(false);
    expect(isLoopbackHost('[::2]:80')).toBe(false);
  });

  it('is read back from a Cookie header, the __Host- one first, and only when well formed', () => {
    const other = 'B'.repeat(43);
    expect(sessionTokenOf(`a=1; ${PLAIN_COOKIE}=${other}; ${SECURE_COOKIE}=${TOKEN}`)).toBe(TOKEN);
    expect(sessionTokenOf(`${PLAIN_COOKIE}=${other}`)).toBe(other);
    expect(sessionTokenOf(`${SECURE_COOKIE}=short`)).toBeNull();
    expect(sessionTokenOf(`${SECURE_COOKIE}=${'A'.repeat(42)}"`)).toBeNull();
    expect(sessionTokenOf(undefined)).toBeNull();
    expect(sessionTokenOf('garbage;;=;')).toBeNull();
  });

  it('is cleared under both names at sign-out', () => {
    const cleared = clearedCookies();
    expect(cleared).toHaveLength(2);
    for (const cookie of cleared) expect(cookie).toMatch(/=; Max-Age=0; Path=\/; HttpOnly/);
  });
});

describe('CSRF', () => {
  it('accepts the session token only, compared whole', () => {
    expect(csrfMatches(TOKEN, TOKEN)).toBe(true);
    expect(csrfMatches(TOKEN, `${TOKEN.slice(0, 42)}B`)).toBe(false);
    expect(csrfMatches(TOKEN, TOKEN.slice(0, 10))).toBe(false);
    expect(csrfMatches(TOKEN, undefined)).toBe(false);
    expect(csrfMatches(TOKEN, [TOKEN])).toBe(false);
  });

  it('takes Sec-Fetch-Site first: only same-origin passes', () => {
    const host = '127.0.0.1:3004';
    expect(sameOrigin({ secFetchSite: 'same-origin', origin: undefined, host })).toBe(true);
    expect(sameOrigin({ secFetchSite: 'same-site', origin: `http://${host}`, host })).toBe(false);
    expect(sameOrigin({ secFetchSite: 'cross-site', origin: `http://${host}`, host })).toBe(false);
    expect(sameOrigin({ secFetchSite: 'none', origin: undefined, host })).toBe(false);
  });

  it('falls back to Origin against Host, and lets a request with neither (no browser) through', () => {
    const host = '127.0.0.1:3004';
    expect(sameOrigin({ secFetchSite: undefined, origin: `http://${host}`, host })).toBe(true);
    expect(sameOrigin({ secFetchSite: undefined, origin: 'http://evil.example', host })).toBe(
      false,
    );
    expect(sameOrigin({ secFetchSite: undefined, origin: 'null', host })).toBe(false);
    expect(sameOrigin({ secFetchSite: undefined, origin: 'not a url', host })).toBe(false);
    expect(sameOrigin({ secFetchSite: undefined, origin: undefined, host })).toBe(true);
  });
});

describe('the security headers', () => {
  it('forbid inline script and style, other origins and framing', () => {
    const { directives } = DASHBOARD_HELMET.contentSecurityPolicy;
    expect(directives.scriptSrc).toEqual(["'self'"]);
    expect(directives.styleSrc).toEqual(["'self'"]);
    expect(directives.frameAncestors).toEqual(["'none'"]);
    expect(directives.objectSrc).toEqual(["'none'"]);
    expect(DASHBOARD_HELMET.frameguard.action).toBe('deny');
  });
});
