// A plain HTTP client for the dashboard, as a signed-in browser would use it: one session
// cookie, redirects not followed (a 303 to /sign-in is an answer to report, not to follow),
// and every body read to its end so a timing covers the whole page.

import { performance } from 'node:perf_hooks';
import { request } from 'undici';

/** The names the dashboard gives its session cookie (with Secure, and over plain HTTP). */
const SESSION_COOKIES = ['__Host-herald_dash', 'herald_dash'];

export interface Answer {
  status: number;
  /** The Location header of a redirect. */
  location: string | undefined;
  body: string;
  /** Request sent to last byte of the body read. */
  ms: number;
}

/** Why the command cannot measure anything: printed as one line, exit code 1. */
export class DashboardError extends Error {}

const firstOf = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export class DashboardClient {
  private cookie: string | undefined;

  constructor(readonly origin: string) {}

  /**
   * POST /sign-in with the key in a form body, keeping the session cookie it sets. The cookie
   * may be marked Secure (the dashboard does so on loopback hosts, which browsers treat as
   * secure); it is sent back over this plain-HTTP loopback connection all the same.
   */
  async signIn(key: string): Promise<void> {
    const answer = await this.send(
      'POST',
      '/sign-in',
      {
        'content-type': 'application/x-www-form-urlencoded',
        // What a browser submitting the dashboard's own form sends; the sign-in checks it.
        origin: this.origin,
        'sec-fetch-site': 'same-origin',
      },
      new URLSearchParams({ key }).toString(),
    );
    if (answer.status === 401) {
      throw new DashboardError(
        'POST /sign-in answered 401: the dashboard does not know that key (HERALD_API_KEY must ' +
          "be a tenant's active secret key, or leave it unset to make one for tenant demo)",
      );
    }
    if (answer.status !== 303 || !this.cookie) {
      throw new DashboardError(
        `POST /sign-in answered ${answer.status}${answer.location ? ` → ${answer.location}` : ''}` +
          `${this.cookie ? '' : ', without a session cookie'}: ${answer.body.slice(0, 200)}`,
      );
    }
  }

  get(path: string): Promise<Answer> {
    return this.send('GET', path, { accept: 'text/html,application/json' });
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Answer> {
    const url = new URL(path, this.origin);
    // Paths come from the dashboard's own links: never let one lead off this origin.
    if (url.origin !== this.origin) throw new DashboardError(`${path} is not on ${this.origin}`);
    const started = performance.now();
    const response = await request(url, {
      method,
      headers: { ...headers, ...(this.cookie ? { cookie: this.cookie } : {}) },
      body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await response.body.text();
    const ms = performance.now() - started;
    this.keepSessionCookie(asList(response.headers['set-cookie']));
    return {
      status: response.statusCode,
      location: firstOf(response.headers.location),
      body: text,
      ms,
    };
  }

  /** Keeps `name=value` of the session cookie and ignores its attributes (Secure, Path, …). */
  private keepSessionCookie(setCookies: string[]): void {
    for (const setCookie of setCookies) {
      const pair = setCookie.split(';', 1)[0]?.trim() ?? '';
      const name = pair.slice(0, pair.indexOf('='));
      // Max-Age=0 with an empty value is a cookie being cleared, not a new session.
      if (SESSION_COOKIES.includes(name) && pair.length > name.length + 1) this.cookie = pair;
    }
  }
}
