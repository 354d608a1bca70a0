// Where the demo points a person once the messages are in: the dashboard's pages, and the key
// to sign in with (the issue asks for the key on the terminal: the demo made it for this run,
// and nobody could sign in without it).

import { bold, heading, say, table } from './output';
import { DEMO_TENANT, type Target } from './target';

/** `stopsNext`: Herald stops right after this (it is not kept up), so say how to keep it. */
export function printDashboard(target: Target, stopsNext: boolean): void {
  const { dashboard, apiKey } = target;
  heading('The dashboard');
  table(
    ['PAGE', 'ADDRESS'],
    [
      ['Messages (sign in first)', `${dashboard}/messages`],
      ['Status page (public)', `${dashboard}/status`],
      [
        'Page timings (HERALD_API_KEY exported)',
        `HERALD_DASHBOARD_URL=${dashboard} npm run dashboard:timing`,
      ],
    ],
  );
  say(`\n  Sign in with tenant ${DEMO_TENANT}'s secret key (the HERALD_API_KEY above):`);
  say(`  ${bold(apiKey)}`);
  if (stopsNext) {
    say('  It stops with the rest below; HERALD_DEMO_KEEP=1 keeps Herald up to look at it.');
  }
}
