import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@tools/harness';
import { Herald } from '../support/herald';

// The dashboard over HTTP, as a browser's requests reach it (the pages in a real browser are
// test/browser): sign-in, the cookie, CSRF, sign-out, tenant isolation, the headers.

const SCALE = 0.01;
const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;
// `slow` keeps a retry waiting in a delay tier for 12 s: long enough to cancel it.
const POLICIES = `
policies:
  slow:
    send: { kind: sequence, delays: [20m, 20m], maxRetries: 2, window: 3h }
`;

interface Page {
  status: number;
  location: string | null;
  setCookie: string[];
  headers: Headers;
  html: string;
}

describe('the dashboard over HTTP', () => {
  let herald: Herald;
  let base: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-'));
    writeFileSync(join(dir, 'policies.yaml'), POLICIES);
    herald = await Herald.start(
      { HERALD_TIME_SCALE: String(SCALE), HERALD_RETRY_POLICIES_FILE: join(dir, 'policies.yaml') },
      ['dashboard'],
    );
    base = `http://127.0.0.1:${herald.service('dashboard').port}`;
  });

  afterAll(async () => {
    await herald?.stop();
  });

  const request = async (
    path: string,
    options: {
      cookie?: string;
      form?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Page> => {
    const response = await fetch(`${base}${path}`, {
      method: options.form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        ...(options.cookie ? { cookie: options.cookie } : {}),
        ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...options.headers,
      },
      body: options.form ? new URLSearchParams(options.form).toString() : undefined,
    });
    return {
      status: response.status,
      location: response.headers.get('location'),
      setCookie: response.headers.getSetCookie(),
      headers: response.headers,
      html: await response.text(),
    };
  };

  const sameOrigin = () => ({ origin: base, 'sec-fetch-site': 'same-origin' });

  /** Signs in with `key`; the session's cookie (name=value). */
  const signIn = async (key: string): Promise<string> => {
    const page = await request('/sign-in', { form: { key }, headers: sameOrigin() });
    expect(page.status).toBe(303);
    expect(page.location).toBe('/messages');
    return page.setCookie[0]!.split(';')[0]!;
  };

  const csrfOf = (html: string): string => {
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error('the page has no CSRF token');
    return token;
  };

  it('sends a visitor without a session to the sign-in form', async () => {
    for (const path of ['/messages', `/messages/${id('none')}`, '/webhooks', '/feed']) {
      const page = await request(path);
      expect({ path, status: page.status, location: page.location }).toEqual({
        path,
        status: 303,
        location: '/sign-in',
      });
    }
    const form = await request('/sign-in');
    expect(form.status).toBe(200);
    expect(form.html).toContain('<form id="sign-in" method="post" action="/sign-in"');
  });

  it('refuses a wrong key, and a sign-in posted from another site', async () => {
    const wrong = await request('/sign-in', {
      form: { key: `hk_sk_${'x'.repeat(43)}` },
      headers: sameOrigin(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.setCookie).toEqual([]);
    expect(wrong.html).toContain('class="error"');

    const forged = await request('/sign-in', {
      form: { key: herald.key.key },
      headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    expect(forged.setCookie).toEqual([]);
  });

  it('signs in with an HttpOnly, SameSite=Strict, Secure host-only cookie, and never shows the key', async () => {
    const page = await request('/sign-in', {
      form: { key: herald.key.key },
      headers: sameOrigin(),
    });
    expect(page.status).toBe(303);
    const [cookie] = page.setCookie;
    expect(cookie).toMatch(/^__Host-herald_dash=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Strict');
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toContain(herald.key.key);

    const list = await request('/messages', { cookie: cookie!.split(';')[0] });
    expect(list.status).toBe(200);
    expect(list.html).not.toContain(herald.key.key);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const csp = list.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(list.headers.get('x-frame-options')).toBe('DENY');
  });

  it("shows a tenant its own messages and answers 404 for another tenant's", async () => {
    const messageId = id('mine');
    await herald.send(messageId, herald.hook('ok', messageId));
    await herald.final(messageId);
    const mine = await signIn(herald.key.key);
    const theirs = await signIn(herald.otherKey.key);

    const list = await request('/messages', { cookie: mine });
    expect(list.html).toContain(`data-message-id="${messageId}"`);
    const page = await request(`/messages/${messageId}?tab=logs`, { cookie: mine });
    expect(page.status).toBe(200);
    expect(page.html).toContain('<article class="provider-call');

    expect((await request('/messages', { cookie: theirs })).html).not.toContain(messageId);
    const other = await request(`/messages/${messageId}`, { cookie: theirs });
    expect(other.status).toBe(404);
    expect(other.html).not.toContain('provider-call');
  });

  it('cancels only with the session’s CSRF token and from its own pages', async () => {
    const messageId = id('cancel');
    await herald.send(messageId, herald.hook('always-503', messageId), { retryPolicy: 'slow' });
    await waitFor(
      `${messageId} to wait for its retry`,
      async () =>
        (await herald.message(messageId))?.status === 'delivery_attempted' ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const cookie = await signIn(herald.key.key);
    const csrf = csrfOf((await request(`/messages/${messageId}`, { cookie })).html);

    const noToken = await request(`/messages/${messageId}/cancel`, {
      cookie,
      form: {},
      headers: sameOrigin(),
    });
    expect(noToken.status).toBe(403);
    const otherSite = await request(`/messages/${messageId}/cancel`, {
      cookie,
      form: { _csrf: csrf },
      headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(otherSite.status).toBe(403);
    expect((await herald.message(messageId))?.status).toBe('delivery_attempted');

    const done = await request(`/messages/${messageId}/cancel`, {
      cookie,
      form: { _csrf: csrf },
      headers: sameOrigin(),
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`/messages/${messageId}?done=canceled`);
    const canceled = await waitFor(
      `${messageId} to read as canceled`,
      async () => ((await herald.message(messageId))?.status === 'canceled' ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(canceled).toBe(true);
  });

  it('ends the session on the server at sign-out', async () => {
    const cookie = await signIn(herald.key.key);
    const csrf = csrfOf((await request('/messages', { cookie })).html);
    const out = await request('/sign-out', {
      cookie,
      form: { _csrf: csrf },
      headers: sameOrigin(),
    });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/sign-in');
    expect(out.setCookie.some((c) => c.startsWith('__Host-herald_dash=;'))).toBe(true);
    // The old cookie, replayed: the session is gone.
    const after = await request('/messages', { cookie });
    expect(after.status).toBe(303);
    expect(after.location).toBe('/sign-in');
  });

  it('serves the status page to anyone, with no tenant’s data', async () => {
    const messageId = id('status');
    await herald.send(messageId, herald.hook('ok', messageId));
    await herald.final(messageId);
    const json = await request('/status.json');
    expect(json.status).toBe(200);
    const report = JSON.parse(json.html) as { components: { name: string; state: string }[] };
    expect(report.components.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'ingest',
        'sender',
        'projector',
        'kafka',
        'schema-registry',
        'mongodb',
      ]),
    );
    expect(json.html).not.toContain(messageId);
    expect(json.html).not.toContain('tenantId');
    expect(json.html).not.toContain(herald.key.key);
    const html = await request('/status');
    expect(html.status).toBe(200);
    expect(html.html).toContain('id="components"');
  });
});
