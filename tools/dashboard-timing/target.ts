// Which dashboard the timing talks to, and the key it signs in with. Only a dashboard on this
// machine: the command is for measuring one's own Herald (the demo's, usually), and its
// requests carry a secret key.

import { SERVICE_PORTS } from '@herald/config';
import { readSettings } from '../demo/settings';
import { demoKey } from '../demo/target';

/** A setting the command cannot work with; printed as one line, exit code 2. */
export class UsageError extends Error {}

/** 127.0.0.0/8 as the URL parser writes it (it turns 127.1 or 0x7f.1 into dotted quads). */
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || LOOPBACK_V4.test(hostname);
}

/**
 * The dashboard's origin: HERALD_DASHBOARD_URL, else 127.0.0.1 on DASHBOARD_PORT (default
 * 3004), the port the demo starts it on. A path in the URL is ignored: the dashboard's pages
 * link to absolute paths, so it cannot live under a prefix anyway.
 */
export function dashboardOrigin(env: NodeJS.ProcessEnv = process.env): string {
  const port = env[SERVICE_PORTS.dashboard.variable] || String(SERVICE_PORTS.dashboard.default);
  const raw = env.HERALD_DASHBOARD_URL?.trim() || `http://127.0.0.1:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `HERALD_DASHBOARD_URL must be a URL such as http://127.0.0.1:3004, got "${raw}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`HERALD_DASHBOARD_URL must be http(s), got "${raw}"`);
  }
  if (!isLoopbackHostname(url.hostname)) {
    throw new UsageError(
      `refusing ${url.host}: the timing signs in with a secret key and requests only a ` +
        'dashboard on this machine (127.0.0.0/8, ::1 or localhost); set HERALD_DASHBOARD_URL to one',
    );
  }
  return url.origin;
}

/**
 * The key to sign in with, found as `npm run demo -- send` finds its own: HERALD_API_KEY, else a
 * new secret key of the demo tenant stored in the MongoDB the demo's settings point at (only
 * then are those settings read, since reading them also runs scripts/infra.sh env).
 */
export async function signInKey(): Promise<{ key: string; created: string | null }> {
  const given = process.env.HERALD_API_KEY?.trim();
  if (given) return { key: given, created: null };
  return demoKey(readSettings({ forStack: false }).servers.MONGODB_URI);
}
