import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES, ERROR_CATEGORIES, EVENT_TYPES } from '@herald/messages';
import { messageRequestBody } from '@herald/decisions';

const error = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, problem: { type: 'string' } },
      },
    },
  },
};

const deliveryError = {
  type: ['object', 'null'],
  properties: {
    category: { enum: ERROR_CATEGORIES },
    code: { type: 'string' },
    message: { type: 'string' },
  },
};

const timestamp = { type: ['string', 'null'], format: 'date-time' };
const idParam = { name: 'messageId', in: 'path', required: true, schema: { type: 'string' } };
const json = (schema: unknown) => ({ 'application/json': { schema } });

/** The list and the feed page alike: keyset cursor and page size. */
const pagingParams = [
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
];

const pageOf = (what: string, schema: string) => ({
  description: `A page of ${what} and the cursor of the next one (null at the end)`,
  content: json({
    type: 'object',
    properties: {
      items: { type: 'array', items: { $ref: `#/components/schemas/${schema}` } },
      nextCursor: { type: ['string', 'null'] },
    },
  }),
});

const paths = {
  '/v1/messages': {
    post: {
      summary: 'Request delivery of a message (ingest)',
      requestBody: {
        required: true,
        content: json(z.toJSONSchema(messageRequestBody, { io: 'input' })),
      },
      responses: {
        '202': {
          description: 'Accepted: durably queued on herald.messages.requested',
          content: json({
            type: 'object',
            properties: { messageId: { type: 'string' }, status: { const: 'accepted' } },
          }),
        },
        '400': {
          description: 'A field is invalid; `problems` names each one',
          content: json(error),
        },
        '403': {
          description: "The body's tenantId is not the key's tenant",
          content: json(error),
        },
        '503': {
          description: 'Kafka did not acknowledge the request in time; send it again',
          content: json(error),
        },
      },
    },
    get: {
      summary: 'List messages, newest first (projector)',
      parameters: [
        { name: 'status', in: 'query', schema: { enum: DELIVERY_STATUSES } },
        { name: 'channel', in: 'query', schema: { enum: CHANNELS } },
        { name: 'recipient', in: 'query', schema: { type: 'string' } },
        { name: 'provider', in: 'query', schema: { type: 'string' } },
        ...pagingParams,
      ],
      responses: {
        '200': pageOf('messages', 'Message'),
        '400': { description: 'A query parameter is invalid', content: json(error) },
      },
    },
  },
  '/v1/messages/{messageId}': {
    get: {
      summary: "A message's current status (projector)",
      parameters: [idParam],
      responses: {
        '200': {
          description: 'The message',
          content: json({ $ref: '#/components/schemas/Message' }),
        },
        '404': { description: 'No such message', content: json(error) },
      },
    },
  },
  '/v1/messages/{messageId}/cancel': {
    post: {
      summary: 'Cancel a message that is queued or waiting for a retry (ingest)',
      parameters: [idParam],
      responses: {
        '200': {
          description: 'Canceled: no attempt or status check runs after it',
          content: json({
            type: 'object',
            properties: { messageId: { type: 'string' }, status: { const: 'canceled' } },
          }),
        },
        '202': {
          description:
            'Asked of the sender holding it, not yet answered: no attempt starts after this',
          content: json({
            type: 'object',
            properties: { messageId: { type: 'string' }, status: { const: 'cancel_requested' } },
          }),
        },
        '404': { description: 'No such message', content: json(error) },
        '409': {
          description: '`too_late`: the message was sent or is final; `status` says which',
          content: json(error),
        },
      },
    },
  },
  '/v1/messages/{messageId}/resend': {
    post: {
      summary: 'Resend a message that ended undelivered, bounced or canceled (ingest)',
      parameters: [
        idParam,
        {
          name: 'Idempotency-Key',
          in: 'header',
          description: 'A repeated key resends once',
          schema: { type: 'string', maxLength: 255 },
        },
      ],
      responses: {
        '202': {
          description: 'A fresh run of attempts has begun (`resend`: accepted or repeated)',
          content: json({
            type: 'object',
            properties: {
              messageId: { type: 'string' },
              status: { const: 'queued' },
              resend: { enum: ['accepted', 'repeated'] },
            },
          }),
        },
        '404': { description: 'No such message', content: json(error) },
        '409': {
          description: '`not_resendable`, `conflict` or `content_unavailable`',
          content: json(error),
        },
      },
    },
  },
  '/v1/messages/{messageId}/events': {
    get: {
      summary: "The message's event timeline, in seq order (projector)",
      parameters: [idParam],
      responses: {
        '200': {
          description: 'The events',
          content: json({
            type: 'object',
            properties: {
              messageId: { type: 'string' },
              events: { type: 'array', items: { $ref: '#/components/schemas/Event' } },
            },
          }),
        },
        '404': { description: 'No such message', content: json(error) },
      },
    },
  },
  '/v1/messages/{messageId}/logs': {
    get: {
      summary: 'The request/response log of every provider call, secrets redacted (projector)',
      parameters: [idParam],
      responses: {
        '200': { description: 'The logs', content: json({ type: 'object' }) },
        '404': { description: 'No such message', content: json(error) },
      },
    },
  },
  '/v1/recipients/{recipient}/feed': {
    get: {
      summary:
        "A recipient's in-app feed, newest first (projector; a secret key or that recipient's token)",
      parameters: [
        { name: 'recipient', in: 'path', required: true, schema: { type: 'string' } },
        ...pagingParams,
      ],
      responses: {
        '200': pageOf('feed items', 'FeedItem'),
        '400': { description: 'A query parameter is invalid', content: json(error) },
        '404': {
          description: "A recipient token for another recipient (as if the feed didn't exist)",
          content: json(error),
        },
      },
    },
  },
  '/v1/recipients/{recipient}/tokens': {
    post: {
      summary:
        "Mint a recipient token: reads this recipient's feed only, for at most 24 h (projector; secret keys only)",
      parameters: [{ name: 'recipient', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: {
        required: false,
        content: json({
          type: 'object',
          properties: {
            expiresIn: {
              type: 'integer',
              minimum: 1,
              maximum: 86400,
              default: 3600,
              description: 'Seconds',
            },
          },
        }),
      },
      responses: {
        '201': {
          description: 'The token, to send as Authorization: Bearer <token>',
          content: json({
            type: 'object',
            properties: {
              token: { type: 'string' },
              tenantId: { type: 'string' },
              recipient: { type: 'string' },
              expiresAt: { type: 'string', format: 'date-time' },
            },
          }),
        },
        '400': { description: 'expiresIn is invalid', content: json(error) },
      },
    },
  },
  '/health/live': {
    get: {
      summary: 'The process serves HTTP and all its consumers run',
      responses: {
        '200': { description: 'live' },
        '503': { description: 'a consumer stopped for good; restart the process' },
      },
    },
  },
  '/health/ready': {
    get: {
      summary: 'Kafka, the schema registry and MongoDB answer',
      responses: {
        '200': { description: 'ready' },
        '503': { description: 'a dependency is down' },
      },
    },
  },
};

/**
 * Herald's HTTP API (OpenAPI 3.1), served at /docs by ingest (POST) and the projector (reads).
 * The request body schema is generated from the validator itself, so they cannot disagree.
 * Every /v1 operation takes `Authorization: Bearer <secret key>` (the feed also a recipient
 * token) and may answer 401; /health/* is open.
 */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'Herald',
    version: '1',
    description:
      "Notification delivery: POST /v1/messages is served by ingest (port 3000), the reads by the projector (port 3001). Authenticate with a secret key (`npm run herald -- keys create --tenant <tenant>`) as `Authorization: Bearer hk_sk_…`; everything is scoped to the key's tenant.",
  },
  security: [{ bearer: [] }],
  paths: withAccess(paths),
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          "A tenant's secret key (hk_sk_…), or on GET /v1/recipients/{recipient}/feed a recipient token from POST /v1/recipients/{recipient}/tokens",
      },
    },
    responses: {
      Unauthorized: {
        description: 'No key, or an unknown, revoked or expired one',
        content: json({
          type: 'object',
          properties: { error: { const: 'unauthorized' }, message: { type: 'string' } },
        }),
      },
    },
    schemas: {
      Message: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          tenantId: { type: 'string' },
          status: { enum: DELIVERY_STATUSES },
          channel: { enum: CHANNELS },
          provider: { type: 'string', description: "The latest attempt's provider" },
          providers: { type: 'array', items: { type: 'string' } },
          recipient: { type: 'string' },
          retryPolicy: { type: ['string', 'null'] },
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          providerMessageId: { type: ['string', 'null'] },
          attempts: { type: 'integer' },
          maxAttempts: { type: ['integer', 'null'] },
          statusChecks: { type: 'integer' },
          lastError: deliveryError,
          nextAttemptAt: timestamp,
          requestedAt: timestamp,
          queuedAt: timestamp,
          firstAttemptAt: timestamp,
          lastAttemptAt: timestamp,
          sentAt: timestamp,
          deliveredAt: timestamp,
          undeliveredAt: timestamp,
          bouncedAt: timestamp,
          notSentAt: timestamp,
          canceledAt: timestamp,
          resends: { type: 'integer' },
          createdAt: timestamp,
          updatedAt: timestamp,
          actions: {
            type: 'object',
            description: 'What cancel and resend would do now',
            properties: { cancel: { type: 'boolean' }, resend: { type: 'boolean' } },
          },
        },
      },
      Event: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          messageId: { type: 'string' },
          seq: { type: 'integer' },
          type: { enum: EVENT_TYPES },
          status: { enum: DELIVERY_STATUSES },
          attempt: { type: 'integer' },
          maxAttempts: { type: ['integer', 'null'] },
          occurredAt: timestamp,
          nextAttemptAt: timestamp,
          providerMessageId: { type: ['string', 'null'] },
          provider: { type: ['string', 'null'] },
          failover: {
            type: ['object', 'null'],
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              reason: { type: 'string' },
            },
          },
          error: deliveryError,
        },
      },
      FeedItem: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The messageId' },
          tenantId: { type: 'string' },
          recipient: { type: 'string' },
          content: { type: 'object', additionalProperties: { type: 'string' } },
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          createdAt: timestamp,
        },
      },
    },
  },
} as const;

/** Every /v1 operation may answer 401; health probes need no credentials. */
function withAccess(all: Record<string, Record<string, { responses: object }>>) {
  return Object.fromEntries(
    Object.entries(all).map(([path, operations]) => [
      path,
      Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => [
          method,
          path.startsWith('/v1/')
            ? {
                ...operation,
                responses: {
                  ...operation.responses,
                  '401': { $ref: '#/components/responses/Unauthorized' },
                },
              }
            : { ...operation, security: [] },
        ]),
      ),
    ]),
  );
}
