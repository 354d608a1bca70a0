import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '@tools/harness';

/**
 * The browser tests drive Debian's Chromium through playwright-core. playwright-core's own
 * browser download cannot work here (and would pin a second Chromium), so the system binary is
 * launched instead: HERALD_CHROMIUM if set, else the real binary, else Debian's wrapper script.
 * `.ci/run` installs the `chromium` package when none is there.
 *
 * The test files are type-checked without the DOM library (tsconfig's lib is ES2023 only), so
 * everything that runs inside the page is passed to playwright as a string.
 */

/** Where Debian's `chromium` package puts the browser; the /usr/bin one is a wrapper script. */
export const CHROMIUM_CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'] as const;

/** Every screenshot is taken at this size, so the ones in docs/ stay comparable run to run. */
export const VIEWPORT = { width: 1280, height: 800 } as const;

export const SCREENSHOT_DIR = join(REPO_ROOT, 'docs', 'screenshots');

/** The Chromium to launch; throws saying how to get one when there is none. */
export function chromiumExecutable(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.HERALD_CHROMIUM?.trim();
  if (given) {
    if (!existsSync(given)) throw new Error(`HERALD_CHROMIUM=${given}: no such file`);
    return given;
  }
  const found = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      `no Chromium at ${CHROMIUM_CANDIDATES.join(' or ')}: install Debian's package ` +
        '(apt-get install --no-install-recommends chromium; .ci/run does) or set HERALD_CHROMIUM',
    );
  }
  return found;
}

/** One headless Chromium; a test file launches one and closes it in afterAll. */
export async function launchBrowser(): Promise<Browser> {
  // playwright-core adds --no-sandbox itself when run as root, which CI containers are.
  return chromium.launch({ executablePath: chromiumExecutable(), headless: true, timeout: 30_000 });
}

/**
 * A fresh context (its own cookies, so its own dashboard session) with the fixed viewport and
 * relative URLs resolved against the dashboard. CSP stays enforced (bypassCSP is off).
 */
export async function newSession(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: VIEWPORT });
  // Playwright's own default is 30 s per action; a page here answers in milliseconds, so a
  // missing selector fails in 15 s with the selector named instead of using up the test's time.
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  return context;
}

/** What a `securitypolicyviolation` event said (the event's own fields, never console text). */
export interface CspViolation {
  violatedDirective: string;
  effectiveDirective: string;
  blockedURI: string;
  disposition: string;
  sample: string;
}

const VIOLATIONS_GLOBAL = '__heraldCspViolations';
const VIOLATION_BINDING = '__heraldReportCspViolation';

/**
 * Registered before any of the page's own scripts, on every document the page loads. The
 * event is what the CSP spec defines; Chromium's console message for the same block is worded
 * differently across versions (156: "Executing inline script violates…"), so it is not read.
 */
const VIOLATION_LISTENER = `(() => {
  window.${VIOLATIONS_GLOBAL} = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    const violation = {
      violatedDirective: event.violatedDirective,
      effectiveDirective: event.effectiveDirective,
      blockedURI: event.blockedURI,
      disposition: event.disposition,
      sample: event.sample,
    };
    window.${VIOLATIONS_GLOBAL}.push(violation);
    if (typeof window.${VIOLATION_BINDING} === 'function') window.${VIOLATION_BINDING}(violation);
  });
})();`;

/** The CSP violations of one page, across every document it loaded. */
export interface CspViolations {
  /** Every violation reported so far, in order, whichever document it happened in. */
  all(): CspViolation[];
  /** The violations of the document loaded now (the window array the listener fills). */
  inDocument(): Promise<CspViolation[]>;
}

/**
 * Collects `page`'s CSP violations; call before the page navigates. The listener pushes into a
 * window array, which a reload empties — the dashboard's pages refresh themselves — so each
 * violation is also handed to this process through a binding and kept here.
 */
export async function collectCspViolations(page: Page): Promise<CspViolations> {
  const seen: CspViolation[] = [];
  await page.exposeBinding(VIOLATION_BINDING, (_source, violation: CspViolation) => {
    seen.push(violation);
  });
  await page.addInitScript({ content: VIOLATION_LISTENER });
  return {
    all: () => [...seen],
    inDocument: async () =>
      (await page.evaluate<CspViolation[] | undefined>(`window.${VIOLATIONS_GLOBAL}`)) ?? [],
  };
}

/**
 * Signs `page` in with a secret key the way a person does: the form on /sign-in, the key in
 * the POST body only. Resolves once the dashboard has sent the browser on to /messages.
 */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/sign-in');
  const form = page.locator('form#sign-in');
  await form.locator('input[name=key]').fill(key);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/messages'),
    form.locator('button[type=submit]').click(),
  ]);
}

/** A full-page PNG of what `page` shows now, as docs/screenshots/<name>.png; its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  // The width stays the viewport's; fullPage only lets a long list or log grow downwards.
  await page.setViewportSize(VIEWPORT);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
