import { randomUUID } from 'node:crypto';
import { type Socket } from 'node:net';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';
import { type Named } from './recipients';
import { type RecordedRequest } from './route';
import { decide, parseScript, type Decision, type Script } from './scripts';

/**
 * A real SMTP server (smtp-server) scripted per recipient like the HTTP providers: a recipient's
 * registered or inline send script decides its RCPT TO answer; an `X-Sim-Script` header in the
 * message decides the answer at the end of DATA. Deliveries are recorded as method SMTP, path
 * /smtp, one recording per recipient.
 */

export const SMTP_PATH = '/smtp';
const ROUTE = 'smtp';

/** What the SMTP listener shares with the HTTP routes; implemented by the simulator. */
export interface SmtpDeps {
  /** The recipient's send script: registered, then inline, then ok. */
  sendScriptFor(recipient: string): Named<Script>;
  /** Counts the request for stats and returns its 1-based attempt for (route, recipient). */
  arrive(route: string, recipient: string, path: string): number;
  record(request: RecordedRequest): void;
  latencyMs: number;
  bodyRecordLimit: number;
}

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

function smtpError(reply: SmtpReply): SMTPServerError {
  const error: SMTPServerError = new Error(reply.message);
  error.responseCode = reply.code;
  return error;
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

interface Accepted {
  recipient: string;
  attempt: number;
  script: string;
  receivedAt: number;
}

export interface SmtpListener {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createSmtpListener(deps: SmtpDeps): SmtpListener {
  // Recipients accepted in each session's current transaction, for recording at DATA end.
  const transactions = new Map<string, { transaction: number; accepted: Accepted[] }>();
  // Sockets by remote port, so reset-<n> can drop the right connection abruptly.
  const sockets = new Map<string, Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const socketKey = (address: string | undefined, port: number | undefined): string =>
    `${(address ?? '').replace(/^::ffff:/, '')}|${port ?? ''}`;

  const later = (action: () => void): void => {
    if (deps.latencyMs <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, deps.latencyMs);
    timers.add(timer);
  };

  const acceptedIn = (session: SMTPServerSession): Accepted[] => {
    let entry = transactions.get(session.id);
    if (!entry || entry.transaction !== session.transaction) {
      entry = { transaction: session.transaction, accepted: [] };
      transactions.set(session.id, entry);
    }
    return entry.accepted;
  };

  const envelopeHeaders = (session: SMTPServerSession, recipient: string) => ({
    'mail-from': session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    'rcpt-to': recipient,
  });

  const onRcptTo = (
    address: SMTPServerAddress,
    session: SMTPServerSession,
    callback: (error?: Error | null) => void,
  ): void => {
    const recipient = address.address;
    const receivedAt = Date.now();
    const script = deps.sendScriptFor(recipient);
    const attempt = deps.arrive(ROUTE, recipient, SMTP_PATH);
    const decision = decide(script.script, attempt);
    const record = (outcome: string): void =>
      deps.record({
        path: SMTP_PATH,
        method: 'SMTP',
        receivedAt,
        headers: envelopeHeaders(session, recipient),
        body: '',
        bodyBytes: 0,
        attempt,
        recipient,
        script: script.name,
        outcome,
      });

    if (decision.action === 'succeed') {
      acceptedIn(session).push({ recipient, attempt, script: script.name, receivedAt });
      callback();
      return;
    }
    if (decision.action === 'reset') {
      record('reset');
      const socket = sockets.get(socketKey(session.remoteAddress, session.remotePort));
      if (socket) socket.resetAndDestroy();
      return;
    }
    if (decision.action === 'hang') {
      // Never answering holds the client until its own timeout or close().
      record('hang');
      return;
    }
    const reply = smtpReplyFor(decision);
    if (!reply) return;
    record(String(reply.code));
    later(() => callback(smtpError(reply)));
  };

  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null, message?: string) => void,
  ): void => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (kept < deps.bodyRecordLimit) {
        const slice = chunk.subarray(0, deps.bodyRecordLimit - kept);
        chunks.push(slice);
        kept += slice.length;
      }
    });
    stream.on('end', () => {
      const accepted = [...acceptedIn(session)];
      transactions.delete(session.id);
      const { headers, body } = messageHeaders(Buffer.concat(chunks).toString('utf8'));
      const override = headers['x-sim-script'];
      let reply: SmtpReply | undefined;
      let scriptName: string | undefined;
      if (override !== undefined) {
        const parsed = parseScript(override);
        scriptName = override;
        // The first recipient's attempt stands for the message: clients send one per message.
        const attempt = accepted[0]?.attempt ?? 1;
        reply = parsed.ok
          ? smtpReplyFor(decide(parsed.script, attempt))
          : { code: 554, message: `5.5.4 ${parsed.error}` };
      }
      const queuedAs = randomUUID();
      for (const one of accepted) {
        deps.record({
          path: SMTP_PATH,
          method: 'SMTP',
          receivedAt: one.receivedAt,
          headers: { ...headers, ...envelopeHeaders(session, one.recipient) },
          body,
          bodyBytes: total,
          attempt: one.attempt,
          recipient: one.recipient,
          script: scriptName ?? one.script,
          outcome: reply ? String(reply.code) : '250',
        });
      }
      later(() =>
        reply ? callback(smtpError(reply)) : callback(null, `OK: queued as ${queuedAs}`),
      );
    });
  };

  const server = new SMTPServer({
    name: 'provider-sim',
    logger: false,
    // Cleartext only: nodemailer would otherwise upgrade with STARTTLS to a self-signed cert.
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    onAuth: (auth, _session, callback) => {
      if (!auth.username || !auth.password) {
        callback(smtpError({ code: 535, message: SMTP_REPLIES[535] ?? '' }));
        return;
      }
      callback(null, { user: auth.username });
    },
    onRcptTo,
    onData,
    onClose: (session) => {
      transactions.delete(session.id);
    },
  });
  // A client dropping its connection is routine here; without a listener it would crash us.
  server.on('error', () => undefined);
  server.server.on('connection', (socket: Socket) => {
    const key = socketKey(socket.remoteAddress, socket.remotePort);
    sockets.set(key, socket);
    socket.once('close', () => {
      if (sockets.get(key) === socket) sockets.delete(key);
    });
  });

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.server.once('error', onError);
        server.listen(port, host, () => {
          server.server.off('error', onError);
          const address = server.server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        if (!server.server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        // Hanging sessions would otherwise hold close() open until smtp-server's grace period.
        for (const socket of sockets.values()) socket.destroy();
      }),
  };
}
