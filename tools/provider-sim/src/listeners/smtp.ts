import { randomUUID } from 'node:crypto';
import { type Socket } from 'node:net';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';
import { type SimulatorEngine } from '../engine/engine';
import { BODY_RECORD_LIMIT } from '../engine/exchange';
import {
  messageHeaders,
  SMTP_PATH,
  SMTP_REPLIES,
  smtpReplyFor,
  type SmtpReply,
} from '../providers/smtp';
import { BodyBuffer, listenOn, type PortListener } from './exchange';

/**
 * A real SMTP server (smtp-server) scripted per recipient like the HTTP providers: the engine
 * decides each RCPT TO answer from the recipient's registered or inline send script, and an
 * `X-Sim-Script` header in the message decides the answer at the end of DATA. Deliveries are
 * recorded as method SMTP, path /smtp, one recording per recipient; the replies are
 * providers/smtp.ts's.
 */

function smtpError(reply: SmtpReply): SMTPServerError {
  const error: SMTPServerError = new Error(reply.message);
  error.responseCode = reply.code;
  return error;
}

interface Accepted {
  recipient: string;
  attempt: number;
  script: string;
  receivedAt: number;
}

export function createSmtpListener(engine: SimulatorEngine): PortListener {
  // Recipients accepted in each session's current transaction, for recording at DATA end.
  const transactions = new Map<string, { transaction: number; accepted: Accepted[] }>();
  // Sockets by remote port, so reset-<n> can drop the right connection abruptly.
  const sockets = new Map<string, Socket>();

  const socketKey = (address: string | undefined, port: number | undefined): string =>
    `${(address ?? '').replace(/^::ffff:/, '')}|${port ?? ''}`;

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
    const { attempt, script, decision } = engine.smtpRecipient(recipient);
    const record = (outcome: string): void =>
      engine.record({
        path: SMTP_PATH,
        method: 'SMTP',
        receivedAt,
        headers: envelopeHeaders(session, recipient),
        body: '',
        bodyBytes: 0,
        attempt,
        recipient,
        script,
        outcome,
      });

    if (decision.action === 'succeed') {
      acceptedIn(session).push({ recipient, attempt, script, receivedAt });
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
    engine.afterLatency(() => callback(smtpError(reply)));
  };

  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null, message?: string) => void,
  ): void => {
    const message = new BodyBuffer(BODY_RECORD_LIMIT);
    stream.on('data', (chunk: Buffer) => message.add(chunk));
    stream.on('end', () => {
      const accepted = [...acceptedIn(session)];
      transactions.delete(session.id);
      const { headers, body } = messageHeaders(message.kept().toString('utf8'));
      const override = headers['x-sim-script'];
      let reply: SmtpReply | undefined;
      let scriptName: string | undefined;
      if (override !== undefined) {
        scriptName = override;
        // The first recipient's attempt stands for the message: clients send one per message.
        const decided = engine.smtpOverride(override, accepted[0]?.attempt ?? 1);
        reply = decided.ok
          ? smtpReplyFor(decided.decision)
          : { code: 554, message: `5.5.4 ${decided.error}` };
      }
      const queuedAs = randomUUID();
      for (const one of accepted) {
        engine.record({
          path: SMTP_PATH,
          method: 'SMTP',
          receivedAt: one.receivedAt,
          headers: { ...headers, ...envelopeHeaders(session, one.recipient) },
          body,
          bodyBytes: message.bytes,
          attempt: one.attempt,
          recipient: one.recipient,
          script: scriptName ?? one.script,
          outcome: reply ? String(reply.code) : '250',
        });
      }
      engine.afterLatency(() =>
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
    listen: (port, host) => listenOn(server.server, port, host),
    close: () =>
      new Promise<void>((resolve) => {
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
