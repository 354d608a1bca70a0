import { type Decision } from '../engine/scripts';

/**
 * SMTP as a provider API: the path and counter namespace its deliveries are recorded under, the
 * reply a scripted failure becomes, and the reading of a message's header block. The server
 * itself is listeners/smtp.ts.
 */

export const SMTP_PATH = '/smtp';
/** Also the namespace of the attempt counters, like an HTTP route's name. */
export const SMTP_ROUTE = 'smtp';

/** Enhanced status text per reply code, so a failure reads like a real MTA's. */
export const SMTP_REPLIES: Readonly<Record<number, string>> = {
  421: '4.3.2 Service not available, closing transmission channel',
  450: '4.2.1 Mailbox unavailable, try again later',
  451: '4.3.0 Local error in processing',
  452: '4.3.1 Insufficient system storage',
  454: '4.7.0 Temporary authentication failure',
  535: '5.7.8 Authentication credentials invalid',
  550: '5.1.1 Mailbox unavailable: no such user',
  551: '5.1.6 User not local',
  552: '5.2.2 Mailbox full',
  553: '5.1.3 Mailbox name not allowed',
  554: '5.7.1 Transaction failed',
};

export interface SmtpReply {
  code: number;
  message: string;
}

/**
 * The SMTP reply for a scripted failure. HTTP-flavoured statuses outside 4xx/5xx cannot be SMTP
 * failures, so they become 451; a non-numeric `error-<code>` becomes a 550 naming the code.
 */
export function smtpReplyFor(decision: Decision): SmtpReply | undefined {
  if (decision.action === 'error') {
    if (decision.retryAfterSeconds !== undefined) {
      return {
        code: 450,
        message: `4.2.1 Rate limited, try again in ${decision.retryAfterSeconds} seconds`,
      };
    }
    return replyForCode(decision.status);
  }
  if (decision.action === 'named-error') {
    return /^\d{3}$/.test(decision.code)
      ? replyForCode(Number(decision.code))
      : { code: 550, message: `5.0.0 ${decision.code}` };
  }
  return undefined;
}

function replyForCode(code: number): SmtpReply {
  if (code < 400 || code > 599) return { code: 451, message: SMTP_REPLIES[451] ?? '' };
  const fallback = code < 500 ? '4.0.0 Temporary failure' : '5.0.0 Permanent failure';
  return { code, message: SMTP_REPLIES[code] ?? fallback };
}

/** Lower-cased header fields of a message's header block, folded lines joined. */
export function messageHeaders(raw: string): { headers: Record<string, string>; body: string } {
  const end = raw.search(/\r?\n\r?\n/);
  const block = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers[last] = `${headers[last] ?? ''} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[last] = headers[last] === undefined ? value : `${headers[last]}, ${value}`;
  }
  return { headers, body };
}
