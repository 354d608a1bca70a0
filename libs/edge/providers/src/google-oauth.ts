import {
  RETRYABLE_HTTP_STATUSES,
  httpStatusText,
  type HttpClassification,
} from '@herald/error-classification';
import type { DeliveryError } from '@herald/messages';
import { idempotencyKey } from './idempotency-key';
import { SignJWT, importPKCS8, type KeyLike } from 'jose';
import { callProvider, type HttpCall, type HttpResponse } from './http-call';
import type { Failure } from '@herald/decisions';
import { parseJson } from './adapter-support';

/** A Google service account, as read from its JSON key file. */
export interface ServiceAccount {
  clientEmail: string;
  /** PEM, PKCS#8. */
  privateKey: string;
  tokenUri: string;
}

export type AccessTokenResult = { ok: true; token: string } | Failure;

/** Google grants an hour at most; the assertion asks for that much. */
const ASSERTION_LIFETIME_S = 3600;
/** A token is replaced this long before it expires, so none expires in the middle of a send. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * OAuth2 access tokens for a service account (the JWT-bearer grant, RFC 7523), cached until
 * shortly before they expire. Concurrent callers share one token request: at high send rates
 * an expiry would otherwise set off a token request per message.
 */
export class GoogleAccessTokens {
  private cached: { token: string; refreshAt: number } | null = null;
  private inflight: Promise<AccessTokenResult> | null = null;
  private key: Promise<KeyLike> | null = null;

  constructor(
    private readonly account: ServiceAccount,
    private readonly scope: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Never rejects. `messageId` is sent as the token request's Idempotency-Key. */
  get(messageId: string): Promise<AccessTokenResult> {
    if (this.cached && this.now() < this.cached.refreshAt) {
      return Promise.resolve({ ok: true, token: this.cached.token });
    }
    this.inflight ??= this.fetch(messageId).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Forgets `token` when it is still the cached one: Google has stopped accepting it. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  private async fetch(messageId: string): Promise<AccessTokenResult> {
    let assertion: string;
    try {
      assertion = await this.sign();
    } catch {
      // jose's message is about the key's format and never quotes it; ours says what to fix.
      return {
        ok: false,
        error: {
          category: 'non_retryable',
          code: 'google_oauth_invalid_key',
          message: 'The service-account private key is not a usable RS256 PKCS#8 PEM key',
        },
        log: null,
      };
    }
    const secrets = [this.account.privateKey, assertion];
    const requestedAt = this.now();
    const outcome = await callProvider(
      buildGoogleTokenRequest(this.account.tokenUri, assertion, messageId),
      {
        timeoutMs: this.timeoutMs,
        secrets,
        classify: classifyGoogleTokenResponse,
      },
    );
    if (!outcome.ok) return outcome;
    const granted = readAccessToken(outcome.body);
    if (!granted) {
      return {
        ok: false,
        error: {
          category: 'retryable',
          code: 'google_oauth_invalid_response',
          message: 'The token endpoint answered 2xx without an access_token',
        },
        log: outcome.log,
      };
    }
    // Measured from before the request: the token's lifetime started no earlier than that.
    const refreshAt = requestedAt + granted.expiresInS * 1000 - TOKEN_REFRESH_MARGIN_MS;
    this.cached = { token: granted.token, refreshAt };
    return { ok: true, token: granted.token };
  }

  private async sign(): Promise<string> {
    // Keys pasted into environment variables often arrive with their newlines escaped.
    this.key ??= importPKCS8(this.account.privateKey.replace(/\\n/g, '\n'), 'RS256');
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ scope: this.scope })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.account.clientEmail)
      .setAudience(this.account.tokenUri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_LIFETIME_S)
      .sign(await this.key);
  }
}

export function buildGoogleTokenRequest(
  tokenUri: string,
  assertion: string,
  messageId: string,
): HttpCall {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion,
  });
  return {
    method: 'POST',
    url: tokenUri,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': idempotencyKey(messageId),
      'user-agent': 'herald/1',
    },
    body: form.toString(),
  };
}

export function classifyGoogleTokenResponse(response: HttpResponse): HttpClassification {
  if (response.status >= 200 && response.status <= 299) return { ok: true };
  return { ok: false, error: classifyGoogleTokenError(response.status, response.body) };
}

/**
 * RFC 6749 §5.2 errors (invalid_grant, invalid_client, unauthorized_client…) mean the service
 * account or its key is wrong, and every retry would be refused alike; only the transient
 * HTTP statuses are retried.
 */
export function classifyGoogleTokenError(status: number, body: string): DeliveryError {
  const parsed = parseJson(body) as { error?: unknown; error_description?: unknown } | undefined;
  const oauthError =
    typeof parsed?.error === 'string' && /^[\w.-]{1,64}$/.test(parsed.error) ? parsed.error : null;
  const description =
    typeof parsed?.error_description === 'string' ? parsed.error_description.slice(0, 300) : null;
  const detail = description ?? oauthError;
  return {
    category: RETRYABLE_HTTP_STATUSES.includes(status) ? 'retryable' : 'non_retryable',
    code: oauthError ? `google_oauth_${oauthError}` : `http_${status}`,
    message: `Google OAuth token request answered ${httpStatusText(status)}${detail ? `: ${detail}` : ''}`,
  };
}

/** The granted token and its lifetime (an hour when the answer does not say). */
export function readAccessToken(body: string): { token: string; expiresInS: number } | null {
  const parsed = parseJson(body) as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (typeof parsed?.access_token !== 'string' || parsed.access_token === '') return null;
  const expiresIn = Number(parsed.expires_in);
  return {
    token: parsed.access_token,
    expiresInS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : ASSERTION_LIFETIME_S,
  };
}
