import { createTransport, type Transporter } from 'nodemailer';
import { idempotencyKey } from './idempotency-key';
import type Mail from 'nodemailer/lib/mailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { SmtpSettings } from '@herald/config';
import { TIMEOUT_CODE, internalError, isNetworkErrorCode } from '@herald/error-classification';
import type { DeliveryError, ProviderExchange } from '@herald/messages';
import { redactExchange, redactKnownSecrets } from '@herald/redaction';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';
import { invalidContent } from './adapter-support';

/**
 * nodemailer's error codes (nodemailer/lib/errors) for a server that could not be reached or
 * a session that broke: the message itself was not judged.
 */
export const SMTP_NETWORK_ERROR_CODES: readonly string[] = [
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EPROTOCOL',
];

/**
 * nodemailer codes that come without an SMTP reply and that no retry fixes: missing or
 * refused credentials, an envelope it will not build, a server lacking REQUIRETLS.
 */
export const SMTP_FINAL_ERROR_CODES: readonly string[] = [
  'EAUTH',
  'ENOAUTH',
  'EENVELOPE',
  'EMESSAGE',
  'EMAXRECIPIENTS',
  'EREQUIRETLS',
];

/** A pooled connection used up its message allowance; the next one will do. */
export const SMTP_RETRYABLE_ERROR_CODES: readonly string[] = ['EMAXLIMIT'];

const MAX_MESSAGE_LENGTH = 500;

/**
 * RFC 5321 §4.2.1: a 4yz reply is a transient failure (421 closing, 450/451/452 try later,
 * 454 auth temporarily failing) and a 5yz reply a permanent one (550 no mailbox, 552/553/554,
 * 535 bad credentials). The reply code wins over nodemailer's own code, which only says which
 * step failed. Connection failures are `network`, keeping the system code when there is one.
 */
export function classifySmtpError(error: unknown): DeliveryError {
  const { code, originalCode, responseCode, message } = (error ?? {}) as {
    code?: unknown;
    originalCode?: unknown;
    responseCode?: unknown;
    message?: unknown;
  };
  const text = typeof message === 'string' ? clip(message) : '';
  if (typeof responseCode === 'number' && responseCode >= 400 && responseCode <= 599) {
    const category = responseCode < 500 ? 'retryable' : 'non_retryable';
    return { category, code: `smtp_${responseCode}`, message: text };
  }
  // Herald's own deadline is the only signal a send carries.
  if (code === 'EABORT') return { category: 'network', code: TIMEOUT_CODE, message: text };
  if (typeof code === 'string') {
    if (SMTP_NETWORK_ERROR_CODES.includes(code) || isNetworkErrorCode(code)) {
      // nodemailer reports a refused port as ECONNECTION; ECONNREFUSED says more.
      const precise =
        typeof originalCode === 'string' && isNetworkErrorCode(originalCode) ? originalCode : code;
      return { category: 'network', code: precise, message: text };
    }
    if (SMTP_FINAL_ERROR_CODES.includes(code)) {
      return { category: 'non_retryable', code, message: text };
    }
    if (SMTP_RETRYABLE_ERROR_CODES.includes(code)) {
      return { category: 'retryable', code, message: text };
    }
  }
  return internalError(error);
}

/** Why this content cannot be mailed, or null; the same rule as the other email provider. */
export function smtpContentProblem(content: Record<string, string>): string | null {
  if (!content.subject) return 'email content needs a subject';
  if (!content.text && !content.html) return 'email content needs text or html';
  return null;
}

/**
 * `<messageId@herald>`: the same on every retry, so receiving systems can drop duplicates. A
 * messageId that is not a valid msg-id left part (RFC 5322 dot-atom) is percent-encoded, with
 * the characters encodeURIComponent leaves alone but dot-atom refuses encoded too.
 */
export function smtpMessageId(messageId: string): string {
  const dotAtom = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
  const left = dotAtom.test(messageId)
    ? messageId
    : encodeURIComponent(messageId).replace(
        /[().]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      );
  return `<${left}@herald>`;
}

/** The message as nodemailer takes it, with the whole send bounded by `timeoutMs`. */
export function buildSmtpMail(
  settings: SmtpSettings,
  request: SendRequest,
  timeoutMs: number,
): Mail.Options & { signal: AbortSignal } {
  const { subject, text, html } = request.content;
  return {
    from: settings.from,
    to: request.recipient,
    subject,
    text,
    html,
    messageId: smtpMessageId(request.messageId),
    headers: { 'Idempotency-Key': idempotencyKey(request.messageId) },
    // Supported by nodemailer's pool (it drops the message or its connection on abort); the
    // type definitions predate it.
    signal: AbortSignal.timeout(timeoutMs),
  };
}

/**
 * Email over SMTP through a nodemailer connection pool.
 *
 * TLS: nothing is forced here. smtps:// connects with TLS from the start; smtp:// upgrades with
 * STARTTLS when the server advertises it and fails (ETLS, network) if that upgrade fails,
 * rather than carry on in plaintext; a server that does not advertise STARTTLS (the test SMTP
 * server on loopback) is spoken to in plaintext. nodemailer's own URL query options are
 * honoured for anything else: `?requireTLS=true` refuses plaintext, `?ignoreTLS=true` never
 * upgrades, `?tls.rejectUnauthorized=false` accepts a self-signed certificate,
 * `?maxConnections=10` widens the pool.
 */
export class SmtpProvider implements ProviderAdapter {
  readonly name = 'smtp';
  readonly channels = ['email'] as const;

  private readonly transport: Transporter<SMTPPool.SentMessageInfo>;
  /** The server as logged: scheme, host and port, never the userinfo or the query. */
  private readonly logUrl: string;
  private readonly secrets: readonly string[];

  constructor(
    private readonly settings: SmtpSettings,
    private readonly timeoutMs: number,
  ) {
    const url = new URL(settings.url);
    const port = url.port || (url.protocol === 'smtps:' ? '465' : '587');
    this.logUrl = `${url.protocol}//${url.hostname}:${port}`;
    this.secrets = credentialsOf(url);
    this.transport = createTransport({
      url: settings.url,
      pool: true,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      logger: false,
    });
  }

  async send(request: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const log = (response: ProviderExchange['response']): ProviderExchange =>
      redactExchange(
        {
          request: {
            method: 'SMTP',
            url: this.logUrl,
            headers: {
              from: this.settings.from,
              to: request.recipient,
              subject: request.content.subject ?? '',
              'message-id': smtpMessageId(request.messageId),
              'idempotency-key': idempotencyKey(request.messageId),
            },
            body: request.content.text ?? request.content.html ?? null,
          },
          response,
          durationMs: Math.round(performance.now() - started),
        },
        this.secrets,
      );
    try {
      const problem = smtpContentProblem(request.content);
      if (problem !== null) return invalidContent(problem);
      const mail = buildSmtpMail(this.settings, request, this.timeoutMs);
      const info = await this.transport.sendMail(mail);
      return {
        ok: true,
        status: 'sent',
        providerMessageId: info.messageId || mail.messageId || null,
        log: log({ status: replyCode(info.response) ?? 250, headers: {}, body: info.response }),
      };
    } catch (error) {
      const classified = classifySmtpError(error);
      const message = redactKnownSecrets(classified.message, this.secrets);
      const { responseCode, response } = (error ?? {}) as {
        responseCode?: unknown;
        response?: unknown;
      };
      const answered = typeof responseCode === 'number';
      const reply = typeof response === 'string' ? response : null;
      return {
        ok: false,
        error: { ...classified, message },
        log: log(answered ? { status: responseCode, headers: {}, body: reply } : null),
      };
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** The userinfo as written and decoded: either form may turn up in an error text. */
function credentialsOf(url: URL): string[] {
  return [url.username, url.password].flatMap((raw) => {
    if (raw === '') return [];
    try {
      return [raw, decodeURIComponent(raw)];
    } catch {
      return [raw];
    }
  });
}

function replyCode(response: string | undefined): number | null {
  const match = /^\d{3}/.exec(response ?? '');
  return match ? Number(match[0]) : null;
}

function clip(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
