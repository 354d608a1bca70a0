import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SmtpSettings } from '@herald/config';
import type { SendRequest } from '@herald/decisions';
import {
  SmtpProvider,
  buildSmtpMail,
  classifySmtpError,
  smtpContentProblem,
  smtpMessageId,
} from '../../libs/edge/providers/src/smtp.provider';

/** An error as nodemailer reports one: its own code, maybe the server's reply and its code. */
function smtpError(fields: { code?: string; responseCode?: number; originalCode?: string }) {
  const reply = fields.responseCode === undefined ? '' : `: ${fields.responseCode} reply text`;
  return Object.assign(new Error(`failed${reply}`), fields);
}

function emailRequest(recipient: string, overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    messageId: 'msg-1',
    tenantId: 'acme',
    channel: 'email',
    recipient,
    content: { subject: 'Hi', text: 'Hello there', html: '<p>Hello there</p>' },
    metadata: {},
    attempt: 1,
    ...overrides,
  };
}

describe('classifySmtpError', () => {
  // RFC 5321 §4.2: 4yz transient, 5yz permanent.
  it.each([421, 450, 451, 452, 454])('retries reply %i', (responseCode) => {
    expect(classifySmtpError(smtpError({ code: 'EENVELOPE', responseCode }))).toEqual({
      category: 'retryable',
      code: `smtp_${responseCode}`,
      message: expect.stringContaining(String(responseCode)),
    });
  });

  it.each([550, 551, 552, 553, 554, 535])('gives up on reply %i', (responseCode) => {
    expect(classifySmtpError(smtpError({ code: 'EMESSAGE', responseCode }))).toEqual({
      category: 'non_retryable',
      code: `smtp_${responseCode}`,
      message: expect.any(String),
    });
  });

  it.each(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY', 'EPROTOCOL'])(
    'calls nodemailer %s a network failure',
    (code) => {
      expect(classifySmtpError(smtpError({ code }))).toMatchObject({ category: 'network', code });
    },
  );

  it('keeps the system code behind ECONNECTION', () => {
    const error = smtpError({ code: 'ECONNECTION', originalCode: 'ECONNREFUSED' });
    expect(classifySmtpError(error)).toMatchObject({ category: 'network', code: 'ECONNREFUSED' });
  });

  it('calls a send cut short by the deadline a timeout', () => {
    expect(classifySmtpError(smtpError({ code: 'EABORT' }))).toMatchObject({
      category: 'network',
      code: 'timeout',
    });
  });

  it.each(['EAUTH', 'ENOAUTH', 'EENVELOPE', 'EMAXRECIPIENTS', 'EREQUIRETLS'])(
    'gives up on %s without a reply',
    (code) => {
      expect(classifySmtpError(smtpError({ code }))).toMatchObject({
        category: 'non_retryable',
        code,
      });
    },
  );

  it('lets the reply code decide over the step that failed', () => {
    expect(classifySmtpError(smtpError({ code: 'EAUTH', responseCode: 454 }))).toMatchObject({
      category: 'retryable',
      code: 'smtp_454',
    });
  });

  it('calls anything else internal', () => {
    expect(classifySmtpError(new TypeError('boom'))).toMatchObject({ category: 'internal' });
    expect(classifySmtpError(null)).toMatchObject({ category: 'internal' });
  });
});

describe('SMTP message building', () => {
  const settings: SmtpSettings = { url: 'smtp://127.0.0.1:2525', from: 'herald@example.com' };

  it('carries the messageId as Message-ID and Idempotency-Key', () => {
    const mail = buildSmtpMail(settings, emailRequest('ann@example.com'), 1000);
    expect(mail).toMatchObject({
      from: 'herald@example.com',
      to: 'ann@example.com',
      subject: 'Hi',
      text: 'Hello there',
      html: '<p>Hello there</p>',
      messageId: '<msg-1@herald>',
      headers: { 'Idempotency-Key': 'msg-1' },
    });
    expect(mail.signal).toBeInstanceOf(AbortSignal);
  });

  it('keeps a UUID and encodes what RFC 5322 would refuse, the same way every time', () => {
    const uuid = '8f14e45f-ceea-467a-9d34-5f7f4a7b2b8e';
    expect(smtpMessageId(uuid)).toBe(`<${uuid}@herald>`);
    expect(smtpMessageId('a b<c>@d.(e)')).toBe('<a%20b%3Cc%3E%40d%2E%28e%29@herald>');
    expect(smtpMessageId('.lead')).toBe('<%2Elead@herald>');
  });

  it('requires a subject and text or html', () => {
    expect(smtpContentProblem({ text: 'x' })).toMatch(/subject/);
    expect(smtpContentProblem({ subject: 's' })).toMatch(/text or html/);
    expect(smtpContentProblem({ subject: 's', html: '<p>x</p>' })).toBeNull();
  });
});

describe('SmtpProvider against a local SMTP server', () => {
  const USER = 'herald-user';
  const PASSWORD = 'sw0rdf1sh-secret';
  let server: SMTPServer;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === USER && auth.password === PASSWORD) {
          callback(null, { user: auth.username });
          return;
        }
        // A careless server quoting the credentials back: they must still not reach Herald's log.
        const error = new Error(`login ${auth.username}/${auth.password} refused`);
        callback(Object.assign(error, { responseCode: 535 }));
      },
      onRcptTo(address, _session, callback) {
        const local = address.address.split('@')[0] ?? '';
        if (local === 'busy') {
          callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 }));
        } else if (local === 'nobody') {
          callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
        } else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push(Buffer.concat(chunks).toString('utf8'));
          // `hang` never gets its final reply, so only Herald's deadline ends the send.
          if (session.envelope.rcptTo[0]?.address.startsWith('hang@')) return;
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = (password = PASSWORD) =>
    `smtp://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const provider = (password?: string, timeoutMs = 2000) =>
    new SmtpProvider({ url: url(password), from: 'herald@example.com' }, timeoutMs);

  it('delivers, identified by the messageId, and logs no credentials', async () => {
    const smtp = provider();
    try {
      const result = await smtp.send(emailRequest('ann@example.com'));
      expect(result).toMatchObject({
        ok: true,
        status: 'sent',
        providerMessageId: '<msg-1@herald>',
        log: {
          request: {
            method: 'SMTP',
            url: `smtp://127.0.0.1:${port}`,
            headers: { from: 'herald@example.com', to: 'ann@example.com', subject: 'Hi' },
            body: 'Hello there',
          },
          response: { status: 250, headers: {} },
        },
      });
      expect(result.ok && result.log.response?.body).toMatch(/^250 /);
      expect(JSON.stringify(result)).not.toContain(PASSWORD);
      expect(JSON.stringify(result)).not.toContain(USER);
      const message = received.at(-1) ?? '';
      expect(message).toMatch(/^Message-ID: <msg-1@herald>\r$/im);
      expect(message).toMatch(/^Idempotency-Key: msg-1\r$/im);
    } finally {
      await smtp.close();
    }
  });

  it('retries a 4xx reply and gives up on a 5xx one', async () => {
    const smtp = provider();
    try {
      const busy = await smtp.send(emailRequest('busy@example.com'));
      expect(busy).toMatchObject({
        ok: false,
        error: { category: 'retryable', code: 'smtp_451' },
        log: { response: { status: 451 } },
      });
      const nobody = await smtp.send(emailRequest('nobody@example.com'));
      expect(nobody).toMatchObject({
        ok: false,
        error: { category: 'non_retryable', code: 'smtp_550' },
        log: { response: { status: 550 } },
      });
      for (const result of [busy, nobody]) {
        expect(JSON.stringify(result)).not.toContain(PASSWORD);
      }
    } finally {
      await smtp.close();
    }
  });

  it('gives up on refused credentials without repeating them', async () => {
    const wrong = 'wr0ng-Passw0rd!';
    const smtp = provider(wrong);
    try {
      const result = await smtp.send(emailRequest('ann@example.com'));
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'non_retryable', code: 'smtp_535' },
      });
      const text = JSON.stringify(result);
      expect(text).toContain('[REDACTED]');
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(encodeURIComponent(wrong));
      expect(text).not.toContain(USER);
    } finally {
      await smtp.close();
    }
  });

  it('ends a send the server stalls at its deadline', async () => {
    const smtp = provider(PASSWORD, 300);
    try {
      const result = await smtp.send(emailRequest('hang@example.com'));
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'network', code: 'timeout' },
        log: { response: null },
      });
    } finally {
      await smtp.close();
    }
  });

  it('reports a refused connection as a network failure', async () => {
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const smtp = new SmtpProvider(
      { url: `smtp://${USER}:${PASSWORD}@127.0.0.1:${closedPort}`, from: 'herald@example.com' },
      2000,
    );
    try {
      const result = await smtp.send(emailRequest('ann@example.com'));
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'network', code: 'ECONNREFUSED' },
        log: { request: { url: `smtp://127.0.0.1:${closedPort}` }, response: null },
      });
      expect(JSON.stringify(result)).not.toContain(PASSWORD);
    } finally {
      await smtp.close();
    }
  });

  it('refuses content without a subject before connecting', async () => {
    const smtp = provider();
    try {
      const result = await smtp.send(emailRequest('ann@example.com', { content: { text: 'x' } }));
      expect(result).toEqual({
        ok: false,
        error: { category: 'non_retryable', code: 'invalid_content', message: expect.any(String) },
        log: null,
      });
    } finally {
      await smtp.close();
    }
  });
});
