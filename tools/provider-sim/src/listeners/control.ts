import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  describeRegistration,
  parseRegistration,
  type RecipientRegistry,
} from '../engine/recipients';
import { parseReceiverSecrets, type ReceiverRegistry } from '../engine/receivers';
import { send, simError } from './respond';
import { type RecordedRequest, type SimResponse } from '../route';
import {
  DEFAULT_STATS_LIMIT,
  type RequestFilter,
  type SimStats,
  type StatsFilter,
} from '../engine/recordings';

/**
 * The simulator's own API on its HTTP port: health, recordings, stats, per-recipient script
 * registrations and the signing secrets of Standard Webhooks receivers.
 *
 *   GET    /health/live, /health/ready
 *   GET    /_sim/requests?path=&prefix=&recipient=&limit=    DELETE /_sim/requests (reset all)
 *   GET    /_sim/stats?prefix=&limit=
 *   PUT    /_sim/recipients/<urlencoded recipient>  {send?, status?, check?}
 *   GET    /_sim/recipients/<r>      DELETE /_sim/recipients/<r>      DELETE /_sim/recipients
 *   PUT    /_sim/receivers/<urlencoded name>  {secrets: ["whsec_...", ...]}  (1 to 4 secrets)
 *   GET    /_sim/receivers/<name>    DELETE /_sim/receivers/<name>    DELETE /_sim/receivers
 */

const MAX_STATS_LIMIT = 100_000;
const CONTROL_BODY_LIMIT = 64 * 1024;
const RECIPIENTS_PATH = '/_sim/recipients';
const RECEIVERS_PATH = '/_sim/receivers';

export interface ControlDeps {
  requests(filter: RequestFilter): RecordedRequest[];
  stats(filter: StatsFilter): SimStats;
  /** Forgets recordings, counters, registrations and remembered messages. */
  reset(): void;
  registry: RecipientRegistry;
  receivers: ReceiverRegistry;
}

interface ControlInput {
  query: URLSearchParams;
  body: string;
  /** The decoded path segment after a prefix route's prefix. */
  param: string;
}

interface ControlRoute {
  method: 'GET' | 'PUT' | 'DELETE';
  handle(input: ControlInput): SimResponse;
}

function parseLimit(value: string | null, fallback: number, max: number): number | undefined {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), max);
}

/** `then` with the parsed JSON body, or the 400 naming `body` and the shape expected. */
function withJsonBody(
  body: string,
  shape: string,
  then: (json: unknown) => SimResponse,
): SimResponse {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return registrationError('body', `body must be JSON ${shape}`);
  }
  return then(json);
}

function registrationError(field: string, message: string): SimResponse {
  return {
    status: 400,
    body: { ok: false, error: { status: 400, code: 'invalid_registration', field, message } },
  };
}

const health: ControlRoute[] = [
  { method: 'GET', handle: () => ({ status: 200, body: { status: 'ok' } }) },
];

/** Returns a handler that answers control requests and says whether the path was one. */
export function createControl(
  deps: ControlDeps,
): (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => boolean {
  const { registry, receivers } = deps;

  const exact = new Map<string, ControlRoute[]>([
    ['/health/live', health],
    ['/health/ready', health],
    [
      '/_sim/requests',
      [
        {
          method: 'GET',
          handle: ({ query }) => {
            const limit = parseLimit(query.get('limit'), Number.MAX_SAFE_INTEGER, Infinity);
            if (limit === undefined)
              return simError(400, 'invalid_limit', 'limit must be a number');
            const path = query.get('path') ?? undefined;
            const prefix = query.get('prefix') ?? undefined;
            const recipient = query.get('recipient') ?? undefined;
            return {
              status: 200,
              body: { requests: deps.requests({ path, prefix, recipient, limit }) },
            };
          },
        },
        {
          method: 'DELETE',
          handle: () => {
            deps.reset();
            return { status: 200, body: { ok: true } };
          },
        },
      ],
    ],
    [
      '/_sim/stats',
      [
        {
          method: 'GET',
          handle: ({ query }) => {
            const limit = parseLimit(query.get('limit'), DEFAULT_STATS_LIMIT, MAX_STATS_LIMIT);
            if (limit === undefined)
              return simError(400, 'invalid_limit', 'limit must be a number');
            return {
              status: 200,
              body: deps.stats({ prefix: query.get('prefix') ?? undefined, limit }),
            };
          },
        },
      ],
    ],
    [
      RECIPIENTS_PATH,
      [
        {
          method: 'DELETE',
          handle: () => {
            const forgotten = registry.size;
            registry.clear();
            return { status: 200, body: { ok: true, forgotten } };
          },
        },
      ],
    ],
    [
      RECEIVERS_PATH,
      [
        {
          method: 'DELETE',
          handle: () => {
            const forgotten = receivers.size;
            receivers.clear();
            return { status: 200, body: { ok: true, forgotten } };
          },
        },
      ],
    ],
  ]);

  const oneRecipient: ControlRoute[] = [
    {
      method: 'PUT',
      handle: ({ body, param }) =>
        withJsonBody(body, '{send?, status?, check?}', (json) => {
          const parsed = parseRegistration(json);
          if (!parsed.ok) return registrationError(parsed.field, parsed.error);
          registry.set(param, parsed.registration);
          return { status: 200, body: describeRegistration(param, parsed.registration) };
        }),
    },
    {
      method: 'GET',
      handle: ({ param }) => {
        const registration = registry.get(param);
        return registration
          ? { status: 200, body: describeRegistration(param, registration) }
          : simError(404, 'not_registered', `no scripts registered for ${param}`);
      },
    },
    {
      method: 'DELETE',
      handle: ({ param }) => ({
        status: 200,
        body: { ok: true, forgotten: registry.delete(param) },
      }),
    },
  ];

  const oneReceiver: ControlRoute[] = [
    {
      method: 'PUT',
      handle: ({ body, param }) =>
        withJsonBody(body, '{secrets: ["whsec_...", ...]}', (json) => {
          const parsed = parseReceiverSecrets(param, json);
          if (!parsed.ok) return registrationError(parsed.field, parsed.error);
          receivers.set(param, parsed.secrets);
          return { status: 200, body: { receiver: param, secrets: parsed.secrets } };
        }),
    },
    {
      method: 'GET',
      handle: ({ param }) => {
        const secrets = receivers.get(param);
        return secrets
          ? { status: 200, body: { receiver: param, secrets } }
          : simError(404, 'not_registered', `no secrets registered for receiver ${param}`);
      },
    },
    {
      method: 'DELETE',
      handle: ({ param }) => ({
        status: 200,
        body: { ok: true, forgotten: receivers.delete(param) },
      }),
    },
  ];

  /** Paths that name one recipient or receiver after their prefix, URL-encoded. */
  const byName: ReadonlyArray<{ prefix: string; handlers: ControlRoute[]; what: string }> = [
    { prefix: RECIPIENTS_PATH, handlers: oneRecipient, what: 'recipient' },
    { prefix: RECEIVERS_PATH, handlers: oneReceiver, what: 'receiver' },
  ];

  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    handlers: ControlRoute[],
    query: URLSearchParams,
    param: string,
  ): void => {
    // HEAD is answered like GET; node leaves the body out.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = handlers.find((h) => h.method === method);
    if (!handler) {
      req.resume();
      const allow = handlers.map((h) => h.method).join(', ');
      send(res, { ...simError(405, 'method_not_allowed', `use ${allow}`), headers: { allow } });
      return;
    }
    if (handler.method !== 'PUT') {
      req.resume();
      send(res, handler.handle({ query, body: '', param }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= CONTROL_BODY_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > CONTROL_BODY_LIMIT) {
        const message = `control bodies are limited to ${CONTROL_BODY_LIMIT} bytes`;
        send(res, simError(413, 'too_large', message));
        return;
      }
      send(res, handler.handle({ query, body: Buffer.concat(chunks).toString('utf8'), param }));
    });
  };

  return (req, res, path, query) => {
    const handlers = exact.get(path);
    if (handlers) {
      answer(req, res, handlers, query, '');
      return true;
    }
    for (const { prefix, handlers: named, what } of byName) {
      if (!path.startsWith(`${prefix}/`)) continue;
      let name: string;
      try {
        name = decodeURIComponent(path.slice(prefix.length + 1));
      } catch {
        req.resume();
        send(res, simError(400, `invalid_${what}`, `the ${what} must be URL-encoded`));
        return true;
      }
      answer(req, res, named, query, name);
      return true;
    }
    return false;
  };
}
