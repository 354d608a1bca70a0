import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { SERVICE_PORTS, type ServiceName } from '@herald/config';
import { newTenantKey, waitFor } from '@tools/harness';
import {
  collectCspViolations,
  launchBrowser,
  newSession,
  screenshot,
  signIn,
} from '../support/browser';
import { Herald } from '../support/herald';

/**
 * The dashboard in a real Chromium against a real Herald: the built services as processes on
 * the real servers, the provider simulator in-process, and the pages selected on the "Page
 * contract" of docs/plans/dashboard.md.
 */

/** The webhook policy's 5 s and 10 s back-offs take 50 and 100 ms. */
const SCALE = 0.01;
const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;

/** The components the status page lists (the page contract's names). */
const COMPONENTS = [
  'ingest',
  'sender',
  'status-checker',
  'projector',
  'webhooks',
  'kafka',
  'schema-registry',
  'mongodb',
];

/** What a provider body would do if the dashboard let it run as HTML. */
const XSS_TEXT = `<script>window.__heraldXss = 'response-body'; document.documentElement.setAttribute('data-xss', 'ran');</script>`;
const XSS_JSON_TEXT = `<script>window.__heraldXss='json'</script>`;
const XSS_IMG = `<img src="/xss.png" onerror="window.__heraldXss = 'onerror'">`;

/**
 * A provider of our own on loopback, for bodies the simulator never answers with: the first
 * call for a path gets 503 with HTML holding a script, the next 200 with JSON holding one (so
 * both the raw and the pretty-printed rendering of a body are exercised).
 */
async function hostileProvider(): Promise<{ url: string; server: Server }> {
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      const call = (calls.get(path) ?? 0) + 1;
      calls.set(path, call);
      if (call === 1) {
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end(`<h1>down</h1>${XSS_TEXT}${XSS_IMG}`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, html: `</pre>${XSS_JSON_TEXT}` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

/**
 * Records every URL a context requests and every HTML page it is served, so a test can say a
 * secret appeared in neither. Findings name where, with the secret itself blanked out.
 */
function watchForSecrets(context: BrowserContext, secrets: readonly string[]) {
  const found: string[] = [];
  const pending: Promise<void>[] = [];
  const blank = (text: string) => secrets.reduce((t, s) => t.split(s).join('[secret]'), text);
  const holds = (text: string) => secrets.some((secret) => text.includes(secret));
  context.on('request', (request) => {
    if (holds(request.url())) found.push(`the URL of ${request.method()} ${blank(request.url())}`);
  });
  context.on('response', (response) => {
    if (response.request().resourceType() !== 'document') return;
    pending.push(
      response.text().then(
        (body) => void (holds(body) && found.push(`the page ${blank(response.url())}`)),
        // A redirect has no body to read.
        () => undefined,
      ),
    );
  });
  return async (): Promise<string[]> => {
    await Promise.all(pending);
    return found;
  };
}

/** The trimmed text of one element, failing with the selector named if it is not there. */
const textOf = async (locator: Locator): Promise<string> =>
  ((await locator.textContent()) ?? '').trim();

/**
 * Submits the list's filter form with `recipient`. The list reloads itself every 5 s; should a
 * reload land between filling and submitting, the form is filled and submitted again.
 */
async function filterByRecipient(page: Page, recipient: string): Promise<void> {
  await waitFor(
    'the message list filtered by recipient',
    async () => {
      const form = page.locator('form#filters');
      const input = form.locator('input[name=recipient]');
      await input.fill(recipient);
      const submit = form.locator('[type=submit]');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('recipient') === recipient, {
          timeout: 5_000,
        }),
        (await submit.count()) > 0 ? submit.first().click() : input.press('Enter'),
      ]);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

/** Each status-page component's state, read in one go (the page swaps itself every 2 s). */
const componentStates = (page: Page): Promise<Record<string, string>> =>
  page.evaluate<Record<string, string>>(`Object.fromEntries(
    [...document.querySelectorAll('table#components tr[data-component]')].map((row) => [
      row.getAttribute('data-component'),
      (row.querySelector('td.state')?.textContent ?? '').trim(),
    ]),
  )`);

describe('the dashboard in a browser', () => {
  let herald: Herald;
  let provider: { url: string; server: Server } | undefined;
  let browser: Browser | undefined;
  let baseUrl: string;
  /** Tenant `default`'s signed-in session, shared by the tests that only read through it. */
  let sessionA: BrowserContext;

  const retriedId = id('retried');
  const xssId = id('xss');
  let retriedRecipient: string;

  beforeAll(async () => {
    provider = await hostileProvider();
    herald = await Herald.start(
      {
        HERALD_TIME_SCALE: String(SCALE),
        HERALD_PROVIDER_TIMEOUT_MS: '2000',
        // The sender this file SIGKILLs gives its partitions up after 8 s instead of 30 s, so
        // test files running beside this one do not wait out a dead member for long.
        HERALD_KAFKA_SESSION_TIMEOUT_MS: '8000',
      },
      ['status-checker', 'webhooks'],
    );
    // Started last, once every other service's port is known: Herald.start picks free ports,
    // and the status page probes each service at the port its variable names.
    const ports = Object.fromEntries(
      herald.services.map((s) => [SERVICE_PORTS[s.name as ServiceName].variable, String(s.port)]),
    );
    const dashboard = await herald.startAnother('dashboard', ports);
    baseUrl = `http://127.0.0.1:${dashboard.port}`;

    retriedRecipient = herald.hook('fail-503-2', retriedId);
    await herald.send(retriedId, retriedRecipient);
    await herald.send(xssId, `${provider.url}/provider/${xssId}`);
    // Neighbours for the list's screenshot: other channels and outcomes.
    const scenery = [
      {
        messageId: id('email'),
        channel: 'email',
        provider: 'sendgrid',
        recipient: `${id('email')}@sim.test`,
        content: { subject: 'Your receipt', text: 'Thanks for your order' },
      },
      {
        messageId: id('chat'),
        channel: 'chat',
        provider: 'slack',
        recipient: `C-${id('chat')}`,
        content: { text: 'Deploy finished' },
      },
      {
        messageId: id('in-app'),
        channel: 'in_app',
        provider: 'in_app',
        recipient: id('user'),
        content: { title: 'Welcome', body: 'Shown in the in-app feed' },
      },
      {
        messageId: id('refused'),
        channel: 'webhook',
        provider: 'webhook',
        recipient: herald.hook('always-400', id('refused')),
        content: { body: 'the endpoint refuses this' },
      },
    ];
    for (const body of scenery) {
      const posted = await herald.post(body);
      if (posted.status !== 202) {
        throw new Error(`POST answered ${posted.status}: ${JSON.stringify(posted.body)}`);
      }
    }
    const retried = await herald.final(retriedId);
    expect(retried.message).toMatchObject({ status: 'sent', attempts: 3 });
    const xss = await herald.final(xssId);
    expect(xss.message).toMatchObject({ status: 'sent', attempts: 2 });
    await Promise.all(scenery.map((body) => herald.final(body.messageId)));

    browser = await launchBrowser();
    sessionA = await newSession(browser, baseUrl);
    await signIn(await sessionA.newPage(), herald.key.key);
  }, 240_000);

  afterAll(async () => {
    // Each step runs whatever happened before it, so a failed test leaves no process behind.
    try {
      await browser?.close();
    } finally {
      try {
        await herald?.stop();
      } finally {
        await new Promise((resolve) => (provider ? provider.server.close(resolve) : resolve(0)));
      }
    }
  }, 120_000);

  it('signs in with the secret key, which shows in no URL and no page, and signs out', async () => {
    const context = await newSession(browser!, baseUrl);
    const wrongKey = newTenantKey('nobody').key;
    const leaks = watchForSecrets(context, [herald.key.key, wrongKey]);
    const page = await context.newPage();

    // An unknown key: 401 and the form again, with the error and without the key.
    await page.goto('/sign-in');
    const form = page.locator('form#sign-in');
    expect(await form.getAttribute('method')).toMatch(/^post$/i);
    expect(await form.locator('input[name=key]').getAttribute('type')).toBe('password');
    await form.locator('input[name=key]').fill(wrongKey);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      form.locator('button[type=submit]').click(),
    ]);
    expect(refused.status()).toBe(401);
    await page.locator('.error').waitFor();

    await signIn(page, herald.key.key);
    expect(new URL(page.url()).pathname).toBe('/messages');
    await page.locator('form#sign-out').waitFor();
    const list = await page.goto('/messages');
    expect(list?.status()).toBe(200);
    expect(list?.headers()['cache-control']).toContain('no-store');
    const cookies = await context.cookies();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(cookie.value).not.toContain(herald.key.key);
    }
    expect(await leaks()).toEqual([]);
    // The same cookie elsewhere is the same session (so the replay below means something).
    const replay = await newSession(browser!, baseUrl);
    await replay.addCookies(cookies);
    expect((await replay.request.get('/messages', { maxRedirects: 0 })).status()).toBe(200);

    // Signed out, the session is over on the server too: a page sends the browser to the
    // sign-in form, and so it does for a copy of the old cookie replayed from elsewhere.
    const [signedOut] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/sign-out'),
      page.locator('form#sign-out [type=submit]').click(),
    ]);
    // Where it sends the browser is the page's choice; that it redirects after the POST is not.
    expect(Math.floor(signedOut.status() / 100)).toBe(3);
    await page.waitForLoadState();
    const after = await page.goto('/messages');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect((await after?.request().redirectedFrom()?.response())?.status()).toBe(303);
    const replayed = await replay.request.get('/messages', { maxRedirects: 0 });
    expect(replayed.status()).toBe(303);
    expect(new URL(replayed.headers()['location'] ?? '', baseUrl).pathname).toBe('/sign-in');
    await replay.close();
    await context.close();
  });

  it('finds the message that failed twice and then went out, and shows 503, 503, 200 in its Logs tab', async () => {
    const page = await sessionA.newPage();
    const list = await page.goto('/messages');
    expect(list?.status()).toBe(200);
    await page.locator('table#messages tbody tr[data-message-id]').first().waitFor();
    const sent = await textOf(page.locator('#status-counts [data-status=sent] .count'));
    expect(Number(sent.replace(/[^\d]/g, ''))).toBeGreaterThan(0);
    await screenshot(page, 'messages');

    await filterByRecipient(page, retriedRecipient);
    const rows = page.locator('table#messages tbody tr[data-message-id]');
    const row = page.locator(`table#messages tbody tr[data-message-id="${retriedId}"]`);
    await row.waitFor();
    expect(await rows.count()).toBe(1);
    expect(await textOf(row.locator('td.status'))).toBe('sent');
    expect(await textOf(row.locator('td.channel'))).toBe('webhook');
    expect(await textOf(row.locator('td.provider'))).toBe('webhook');
    expect(await textOf(row.locator('td.attempts'))).toBe('3');
    expect(await textOf(row.locator('td.recipient'))).toContain(retriedId);

    await Promise.all([
      page.waitForURL((url) => url.pathname === `/messages/${retriedId}`),
      row.locator(`a.message-link[href="/messages/${retriedId}"]`).click(),
    ]);
    expect(await textOf(page.locator('#message-status'))).toBe('sent');
    // "3", or "3 of <the policy's maximum>".
    expect(await textOf(page.locator('dl#message-summary dd[data-field=attempts]'))).toMatch(
      /^3(\D|$)/,
    );

    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('tab') === 'logs'),
      page.locator('a#tab-logs').click(),
    ]);
    const calls = page.locator('section#logs article.provider-call');
    await calls.first().waitFor();
    expect(await calls.count()).toBe(3);
    const statuses = await calls.locator('.response-status').allTextContents();
    expect(statuses.map((s) => /\d{3}/.exec(s)?.[0])).toEqual(['503', '503', '200']);
    const bodies = await calls.locator('pre.response-body').allTextContents();
    expect(bodies[0]).toContain('simulated 503 from script fail-503-2 (attempt 1)');
    expect(bodies[1]).toContain('simulated 503 from script fail-503-2 (attempt 2)');
    expect(bodies[2]).toMatch(/"ok":\s*true/);
    for (const call of await calls.all()) {
      expect(await textOf(call.locator('.request-method'))).toBe('POST');
      expect(await textOf(call.locator('.request-url'))).toContain(
        `/hooks/fail-503-2/${retriedId}`,
      );
    }
    await screenshot(page, 'logs');
    await page.close();
  });

  it('cancels a message waiting out a Retry-After from its page', async () => {
    const messageId = id('cancel');
    // 429 with Retry-After: 600 (a provider's demand, never scaled): ten minutes in the tiers.
    await herald.send(messageId, herald.hook('retry-after-600-1', messageId));
    const waiting = await waitFor(`${messageId} to wait for its retry`, async () => {
      const message = await herald.message(messageId);
      return message?.status === 'delivery_attempted' && message.actions.cancel
        ? message
        : undefined;
    });
    expect(Date.parse(waiting.nextAttemptAt ?? '') - Date.now()).toBeGreaterThan(60_000);

    const page = await sessionA.newPage();
    const path = `/messages/${messageId}`;
    await page.goto(path);
    expect(await textOf(page.locator('#message-status'))).toBe('delivery_attempted');
    const cancel = page.locator('form#cancel-form');
    const action = new URL((await cancel.getAttribute('action')) ?? '', page.url());
    expect(action.pathname).toBe(`${path}/cancel`);
    expect(await cancel.getAttribute('method')).toMatch(/^post$/i);
    expect(await cancel.locator('input[type=hidden][name=_csrf]').inputValue()).not.toBe('');

    // Without the form's token the same POST is refused, and nothing is canceled.
    const forged = await sessionA.request.post(`${path}/cancel`, { form: {}, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await herald.message(messageId))?.status).toBe('delivery_attempted');

    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      cancel.locator('[type=submit]').click(),
    ]);
    expect(posted.status()).toBe(303);
    await page.locator('.notice').waitFor();
    expect(new URL(page.url()).pathname).toBe(path);
    expect(await textOf(page.locator('.notice'))).toMatch(/cancel/i);
    // The page after the redirect may be read before the projector wrote `canceled`.
    await waitFor(
      '#message-status to say canceled',
      async () => {
        if ((await textOf(page.locator('#message-status'))) === 'canceled') return true;
        await page.reload();
        return undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(await page.locator('form#cancel-form').count()).toBe(0);
    expect((await herald.message(messageId))?.status).toBe('canceled');
    expect(herald.received(messageId)).toHaveLength(1);
    await page.close();
  });

  it("answers 404 to another tenant's session for tenant A's message", async () => {
    const context = await newSession(browser!, baseUrl);
    const page = await context.newPage();
    await signIn(page, herald.otherKey.key);
    for (const path of [`/messages/${retriedId}`, `/messages/${retriedId}?tab=logs`]) {
      const response = await page.goto(path);
      expect(response?.status()).toBe(404);
      expect(await textOf(page.locator('h1'))).toBe('Not found');
      expect(await page.content()).not.toContain(retriedRecipient);
    }
    const list = await page.goto(`/messages?recipient=${encodeURIComponent(retriedRecipient)}`);
    expect(list?.status()).toBe(200);
    await page.locator('main').waitFor();
    expect(await page.locator(`tr[data-message-id="${retriedId}"]`).count()).toBe(0);
    await context.close();
  });

  it("renders a provider's <script> body as text, and its CSP blocks an inline script", async () => {
    const page = await sessionA.newPage();
    const violations = await collectCspViolations(page);
    const response = await page.goto(`/messages/${xssId}?tab=logs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);

    const bodies = page.locator('section#logs article.provider-call pre.response-body');
    await bodies.first().waitFor();
    expect(await bodies.count()).toBe(2);
    expect(await bodies.nth(0).isVisible()).toBe(true);
    expect(await bodies.nth(0).textContent()).toContain(XSS_TEXT);
    expect(await bodies.nth(0).textContent()).toContain(XSS_IMG);
    expect(await bodies.nth(1).textContent()).toContain(XSS_JSON_TEXT);
    expect(await page.locator('section#logs script, section#logs img').count()).toBe(0);
    expect(await page.evaluate<string>('typeof window.__heraldXss')).toBe('undefined');
    expect(await page.evaluate<boolean>(`document.documentElement.hasAttribute('data-xss')`)).toBe(
      false,
    );
    // Had the bodies been parsed as HTML, their script and handler would have been blocked and
    // reported here; the page's own markup needs nothing its policy refuses.
    expect(violations.all()).toEqual([]);

    await page.evaluate(`(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__heraldInjected = true';
      document.body.appendChild(script);
    })()`);
    const blocked = await waitFor(
      'a securitypolicyviolation for the inline script',
      () => violations.all().find((v) => v.effectiveDirective.startsWith('script-src')),
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(blocked.violatedDirective).toMatch(/^script-src/);
    expect(blocked).toMatchObject({ blockedURI: 'inline', disposition: 'enforce' });
    expect(await violations.inDocument()).toContainEqual(blocked);
    expect(await page.evaluate<string>('typeof window.__heraldInjected')).toBe('undefined');
    await page.close();
  });

  // Last: it kills the sender.
  it('shows every component up on /status, and the sender down within 10 s of its SIGKILL', async () => {
    // Public: a context without a session.
    const context = await newSession(browser!, baseUrl);
    const page = await context.newPage();
    const response = await page.goto('/status');
    expect(response?.status()).toBe(200);
    const statusJson = async () => (await fetch(`${baseUrl}/status.json`)).text();

    const up = await waitFor(
      'every component to show up',
      async () => {
        const states = await componentStates(page);
        return COMPONENTS.every((name) => states[name] === 'up') ? states : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch(async (error: Error) => {
      const states = await componentStates(page).catch(() => ({}));
      throw new Error(
        `${error.message}; the page shows ${JSON.stringify(states)}; /status.json: ${await statusJson()}`,
      );
    });
    expect(Object.keys(up).sort()).toEqual([...COMPONENTS].sort());
    await screenshot(page, 'status');

    const sender = herald.service('sender');
    const killedAt = Date.now();
    sender.process.kill('SIGKILL');
    let seenDownAfter = Infinity;
    await waitFor(
      'the sender to show down',
      async () => {
        const states = await componentStates(page);
        if (states.sender !== 'down') return undefined;
        seenDownAfter = Date.now() - killedAt;
        return states;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch(async (error: Error) => {
      const states = await componentStates(page).catch(() => ({}));
      throw new Error(
        `${error.message}; the page shows ${JSON.stringify(states)}; /status.json: ${await statusJson()}`,
      );
    });
    expect(seenDownAfter).toBeLessThanOrEqual(10_000);
    process.stdout.write(`status page: sender down ${seenDownAfter} ms after its SIGKILL\n`);
    expect(await sender.exited).toBeNull();
    const states = await componentStates(page);
    expect(states.ingest).toBe('up');
    expect(states.projector).toBe('up');
    await context.close();
  });
});
