import type { Collection } from 'mongodb';
import { internalError } from '@herald/error-classification';
import { isDuplicateKey } from '@herald/mongo';
import type { ProviderExchange } from '@herald/messages';
import { FEED_COLLECTION, toFeedDocument, type FeedDocument } from '@herald/read-model';
import { redactExchange } from '@herald/redaction';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';

/**
 * A feed item is a short notification rendered in an app; 32 KiB of content (keys and values,
 * UTF-8) is far beyond one, and keeps feed pages small. Larger content can never be stored, so
 * it fails the message at once rather than retrying.
 */
export const FEED_CONTENT_LIMIT_BYTES = 32 * 1024;

/**
 * The in-app channel: Herald itself is the provider. A message is `delivered` once it is in
 * the recipient's feed (GET /v1/recipients/{recipient}/feed on the projector). The feed
 * document is keyed by (tenantId, messageId), so a send repeated after a crash finds it already there and
 * still counts as delivered, once.
 */
export class InAppProvider implements ProviderAdapter {
  readonly name = 'in_app';
  readonly channels = ['in_app'] as const;

  constructor(private readonly feed: Collection<FeedDocument>) {}

  async send(request: SendRequest): Promise<SendResult> {
    const size = Object.entries(request.content).reduce(
      (sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value),
      0,
    );
    if (size > FEED_CONTENT_LIMIT_BYTES) {
      return {
        ok: false,
        error: {
          category: 'non_retryable',
          code: 'content_too_large',
          message: `content: ${size} bytes is over the in-app feed's ${FEED_CONTENT_LIMIT_BYTES}-byte limit`,
        },
        log: null,
      };
    }
    const started = performance.now();
    const document = toFeedDocument({ ...request, createdAt: Date.now() });
    // The log shows what was stored, like a provider log shows what was sent.
    const log = (status: number, body: string): ProviderExchange =>
      redactExchange({
        request: {
          method: 'INSERT',
          url: `mongodb:${FEED_COLLECTION}`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ recipient: request.recipient, content: request.content }),
        },
        response: { status, headers: { 'content-type': 'application/json' }, body },
        durationMs: Math.round(performance.now() - started),
      });
    try {
      await this.feed.insertOne(document);
      return {
        ok: true,
        status: 'delivered',
        providerMessageId: request.messageId,
        log: log(201, JSON.stringify({ stored: true })),
      };
    } catch (error) {
      if (isDuplicateKey(error)) {
        return {
          ok: true,
          status: 'delivered',
          providerMessageId: request.messageId,
          log: log(200, JSON.stringify({ stored: true, alreadyInFeed: true })),
        };
      }
      // MongoDB unreachable or failing: Herald's own trouble, retried like any internal error.
      return { ok: false, error: internalError(error), log: null };
    }
  }
}
