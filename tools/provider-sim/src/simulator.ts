import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import { type Server, type Socket } from 'node:net';
import { type Readable } from 'node:stream';
import { Counters, Ring } from './bounded';
import { createControl, DEFAULT_STATS_LIMIT } from './control';
import { DEFAULT_MAX_MESSAGES, MessageStore } from './message-store';
import { apnsError, apnsRoute } from './providers/apns';
import { fcmRoutes } from './providers/fcm';
import { sendgridRoutes } from './providers/sendgrid';
import { slackRoutes } from './providers/slack';
import { twilioRoutes } from './providers/twilio';
import { webhookRoute } from './providers/webhook';
import {
  inlineScriptsOf,
  parseRegistration,
  RecipientRegistry,
  type InlineScripts,
  type Named,
} from './recipients';
import { payloadOf, send, simError } from './respond';
import {
  createRequestInput,
  type ProviderRequest,
  type ProviderRoute,
  type RecordedRequest,
  type SimResponse,
} from './route';
import {
  decide,
  MAX_SCRIPT_STATUS,
  MIN_SCRIPT_STATUS,
  outcomeOf,
  parseLatency,
  parseScript,
  type Script,
} from './scripts';
import { createSmtpListener, type SmtpListener } from './smtp';
import { DEFAULT_STATUS_SCRIPT, parseStatusScript, type StatusScript } from './status-scripts';

export type {
  ErrorDetail,
  ProviderRequest,
  ProviderRoute,
  RecordedRequest,
  RequestInput,
  SimResponse,
} from './route';
export { webhookRoute } from './providers/webhook';

/**
 * A stand-in for the providers Herald calls: webhooks, SendGrid, Twilio, Slack, FCM (HTTP/1.1
 * port), APNs (HTTP/2 cleartext port) and SMTP (its own port). This file is the shared engine:
 * script choice, latency, attempt counters and recordings; providers/*.ts hold each API's
 * paths and answers. Plain node:http/http2 rather than a framework because benchmarks push
 * thousands of requests a second through it and it must stay out of their way.
 */

export const BODY_RECORD_LIMIT = 4096;
// Routes read recipients out of bodies; an HTML email can be far larger than what is recorded.
export const BODY_PARSE_LIMIT = 256 * 1024;
export const DEFAULT_MAX_RECORDED = 100_000;
export const DEFAULT_MAX_PATHS = 1_000_000;

export interface SimulatorOptions {
  /** Delay before every answer unless a request overrides it. */
  latencyMs?: number;
  /** Recordings kept; the oldest are dropped first. 0 turns recording off. */
  maxRecorded?: number;
  /** Attempt counters kept (per path, and per route and recipient); least recently used go first. */
  maxPaths?: number;
  /** Accepted Twilio/SendGrid messages remembered for status lookups; the oldest go first. */
  maxMessages?: number;
  /** Provider routes in addition to the built-in ones, tried after them. */
  routes?: readonly ProviderRoute[];
  /** Port for the APNs HTTP/2 cleartext listener: 0 = any free port, undefined = none. */
  apnsPort?: number;
  /** Port for the SMTP listener: 0 = any free port, undefined = none. */
  smtpPort?: number;
  /** Called with one line per provider request; off by default because it costs throughput. */
  log?: (line: string) => void;
}

export interface RequestFilter {
  path?: string;
  prefix?: string;
  recipient?: string;
  /** Only the most recent n matches. */
  limit?: number;
}

export interface SimStats {
  /** Provider requests received since the last reset, recorded or not. */
  total: number;
  /** Recordings currently held. */
  recorded: number;
  /** Distinct paths with a live counter. */
  paths: number;
  /** Distinct (route, recipient) pairs with a live attempt counter. */
  recipients: number;
  /** Requests per path (of the paths matching the prefix, at most `limit` of them). */
  byPath: Record<string, number>;
  /** True when byPath left paths out because of the limit. */
  truncated: boolean;
}

export interface SimAddresses {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:4010 */
  url: string;
  /** e.g. http://127.0.0.1:4011, when an APNs port was configured. */
  apnsUrl?: string;
  /** e.g. smtp://127.0.0.1:2525, when an SMTP port was configured. */
  smtpUrl?: string;
}

/** Script names per recipient, as `PUT /_sim/recipients/<r>` takes them. */
export interface RecipientScripts {
  send?: string | null;
  status?: string | null;
  check?: string | null;
}

export interface Simulator {
  server: http.Server;
  listen(port?: number, host?: string): Promise<SimAddresses>;
  close(): Promise<void>;
  /** Base URL once listening, e.g. http://127.0.0.1:4010. */
  url(): string;
  /** The APNs h2c base URL once listening; throws when no APNs port was configured. */
  apnsUrl(): string;
  /** The SMTP URL once listening; throws when no SMTP port was configured. */
  smtpUrl(): string;
  requests(filter?: RequestFilter): RecordedRequest[];
  stats(filter?: { prefix?: string; limit?: number }): SimStats;
  /** Like `PUT /_sim/recipients/<r>`; throws naming the bad field. */
  register(recipient: string, scripts: RecipientScripts): void;
  /** Forgets one recipient's registration, or all of them. */
  unregister(recipient?: string): void;
  /** Forgets recordings, counters, registrations and remembered messages. */
  reset(): void;
}

/** How an answer reaches the client; HTTP/1.1 and HTTP/2 differ only here. */
interface Wire {
  respond(response: SimResponse): void;
  /** Drops the exchange without an answer: a TCP reset, or RST_STREAM on HTTP/2. */
  reset(): void;
  /** Runs once the exchange is over, answered or not. */
  onClose(listener: () => void): void;
}

/** The request side both node:http and node:http2 (compat) give us. */
type IncomingBody = Readable & { headers: IncomingHttpHeaders; complete: boolean };

const OK: Named<Script> = { name: 'ok', script: { kind: 'ok' } };
const NO_INLINE: InlineScripts = {};
const DEFAULT_STATUS: Named<StatusScript> = (() => {
  const parsed = parseStatusScript(DEFAULT_STATUS_SCRIPT);
  if (!parsed.ok) throw new Error(parsed.error);
  return { name: DEFAULT_STATUS_SCRIPT, script: parsed.script };
})();

function http1Wire(req: IncomingMessage, res: ServerResponse): Wire {
  return {
    respond: (response) => send(res, response),
    reset: () => resetSocket(req.socket),
    onClose: (listener) => res.once('close', listener),
  };
}

function http2Wire(req: Http2ServerRequest, res: Http2ServerResponse): Wire {
  return {
    respond: (response) => {
      if (res.headersSent || res.stream.destroyed || res.stream.closed) return;
      const { headers, payload } = payloadOf(response);
      res.writeHead(response.status, headers);
      res.end(payload);
    },
    reset: () => {
      if (!req.stream.destroyed) req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
    onClose: (listener) => res.once('close', listener),
  };
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // HTTP/2 pseudo-headers (:path, :method…) are the request line, not headers.
    if (value !== undefined && !name.startsWith(':')) {
      flat[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return flat;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitTarget(target: string): { path: string; query: URLSearchParams } | undefined {
  let raw = target;
  if (!raw.startsWith('/')) {
    // Absolute-form targets (`POST http://host/path`) are legal HTTP; anything else is not.
    try {
      const url = new URL(raw);
      raw = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  const mark = raw.indexOf('?');
  return mark === -1
    ? { path: raw, query: new URLSearchParams() }
    : { path: raw.slice(0, mark), query: new URLSearchParams(raw.slice(mark + 1)) };
}

function resetSocket(socket: Socket): void {
  try {
    // A real RST (ECONNRESET at the client), not a polite FIN that reads as an empty response.
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** `error-<code>-<n>` on a route without named errors: a numeric code is a status. */
function fallbackNamedError(route: ProviderRoute, code: string, request: ProviderRequest) {
  const status = /^\d{3}$/.test(code) ? Number(code) : undefined;
  const known = status !== undefined && status >= MIN_SCRIPT_STATUS && status <= MAX_SCRIPT_STATUS;
  return route.error(
    known ? status : 400,
    { code, message: `simulated error ${code}`, scripted: true },
    request,
  );
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const globalLatencyMs = options.latencyMs ?? 0;
  const maxRecorded = options.maxRecorded ?? DEFAULT_MAX_RECORDED;
  const maxCounters = options.maxPaths ?? DEFAULT_MAX_PATHS;
  const messages = new MessageStore(options.maxMessages ?? DEFAULT_MAX_MESSAGES);
  const routes: readonly ProviderRoute[] = [
    webhookRoute,
    ...sendgridRoutes(messages),
    ...twilioRoutes(messages),
    ...slackRoutes(),
    ...fcmRoutes(),
    ...(options.routes ?? []),
  ];
  const log = options.log;
  const recordings = new Ring<RecordedRequest>(maxRecorded);
  const pathCounts = new Counters(maxCounters);
  const sendAttempts = new Counters(maxCounters);
  const checkAttempts = new Counters(maxCounters);
  const registry = new RecipientRegistry();
  const pendingTimers = new Set<NodeJS.Timeout>();
  let total = 0;
  let boundUrl: string | undefined;
  let boundApnsUrl: string | undefined;
  let boundSmtpUrl: string | undefined;

  const record = (request: RecordedRequest): void => {
    if (maxRecorded > 0) recordings.push(request);
    if (log) {
      const { receivedAt, method, path, recipient, attempt, script, outcome } = request;
      const who = recipient === null ? '' : ` ${recipient}`;
      log(
        `${new Date(receivedAt).toISOString()} ${method} ${path}${who} #${attempt} ${script} -> ${outcome}`,
      );
    }
  };

  /**
   * The send script for a request: X-Sim-Script, then the recipient's registration (`check`
   * for status lookups, `send` otherwise), then an inline prefix (sends only), then the path's.
   */
  const scriptFor = (
    kind: 'send' | 'check',
    recipient: string | undefined,
    inline: InlineScripts,
    override: string | undefined,
    pathScript: string | undefined,
  ): Named<Script> | { name: string; error: string } => {
    if (override === undefined && recipient !== undefined) {
      const registered = registry.get(recipient);
      const found = kind === 'check' ? registered?.check : (registered?.send ?? inline.send);
      if (found) return found;
    }
    const name = override ?? pathScript ?? 'ok';
    if (name === 'ok') return OK;
    const parsed = parseScript(name);
    return parsed.ok ? { name, script: parsed.script } : { name, error: parsed.error };
  };

  const statusScriptFor = (
    recipient: string | undefined,
    inline: InlineScripts,
  ): Named<StatusScript> =>
    (recipient === undefined ? undefined : registry.get(recipient)?.status) ??
    inline.status ??
    DEFAULT_STATUS;

  const inlineOf = (recipient: string | undefined): InlineScripts =>
    recipient !== undefined && recipient.includes('+') ? inlineScriptsOf(recipient) : NO_INLINE;

  const requests = (filter: RequestFilter = {}): RecordedRequest[] => {
    const { path, prefix, recipient, limit } = filter;
    const all =
      path === undefined && prefix === undefined && recipient === undefined
        ? recordings.select(() => true)
        : recordings.select(
            (r) =>
              (path === undefined || r.path === path) &&
              (prefix === undefined || r.path.startsWith(prefix)) &&
              (recipient === undefined || r.recipient === recipient),
          );
    return limit !== undefined && all.length > limit ? all.slice(all.length - limit) : all;
  };

  const stats = (filter: { prefix?: string; limit?: number } = {}): SimStats => {
    const limit = filter.limit ?? DEFAULT_STATS_LIMIT;
    const byPath: Record<string, number> = {};
    let listed = 0;
    let truncated = false;
    for (const [path, count] of pathCounts.entries()) {
      if (filter.prefix !== undefined && !path.startsWith(filter.prefix)) continue;
      if (listed >= limit) {
        truncated = true;
        break;
      }
      byPath[path] = count;
      listed += 1;
    }
    return {
      total,
      recorded: recordings.size,
      paths: pathCounts.size,
      recipients: sendAttempts.size + checkAttempts.size,
      byPath,
      truncated,
    };
  };

  const reset = (): void => {
    recordings.clear();
    pathCounts.clear();
    sendAttempts.clear();
    checkAttempts.clear();
    registry.clear();
    messages.clear();
    total = 0;
  };

  const register = (recipient: string, scripts: RecipientScripts): void => {
    const parsed = parseRegistration(scripts);
    if (!parsed.ok) throw new Error(parsed.error);
    registry.set(recipient, parsed.registration);
  };

  const control = createControl({ requests, stats, reset, registry });

  const handleProvider = (
    req: IncomingBody,
    wire: Wire,
    route: ProviderRoute,
    pathScript: string | undefined,
    path: string,
    query: URLSearchParams,
    method: string,
    receivedAt: number,
  ): void => {
    if (!route.methods.includes(method)) {
      req.resume();
      const allow = route.methods.join(', ');
      const answer = route.error(405, {
        code: 'method_not_allowed',
        message: `${route.name} accepts ${allow}`,
        scripted: false,
      });
      wire.respond({ ...answer, headers: { ...answer.headers, allow } });
      return;
    }

    // Counted on arrival so concurrent requests on one path get attempts in arrival order;
    // this is the webhook's attempt, and every route's entry in the per-path stats.
    const pathAttempt = pathCounts.increment(path);
    total += 1;
    const byRecipient = route.recipientOf !== undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    let bodyBytes = 0;
    let settled = false;

    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (kept < BODY_PARSE_LIMIT) {
        const slice = chunk.subarray(0, BODY_PARSE_LIMIT - kept);
        chunks.push(slice);
        kept += slice.length;
      }
    });

    const recordedBody = (raw: Buffer): string =>
      raw.subarray(0, BODY_RECORD_LIMIT).toString('utf8');

    const abandon = (): void => {
      if (settled) return;
      settled = true;
      record({
        path,
        method,
        receivedAt,
        headers: flattenHeaders(req.headers),
        body: recordedBody(Buffer.concat(chunks)),
        bodyBytes,
        attempt: byRecipient ? 0 : pathAttempt,
        recipient: null,
        script: firstHeader(req.headers['x-sim-script']) ?? pathScript ?? 'ok',
        outcome: 'aborted',
      });
    };
    req.on('error', abandon);
    req.on('close', () => {
      if (!req.complete) abandon();
    });

    const finish = (): void => {
      const raw = Buffer.concat(chunks);
      const input = createRequestInput({
        path,
        query,
        method,
        headers: req.headers,
        body: raw.toString('utf8'),
        bodyBytes,
        receivedAt,
      });
      const recipient = route.recipientOf?.(input);
      const kind = route.kind ?? 'send';
      // Providers count per (route, recipient): a test's unique recipient is its own
      // sequence however many other messages share the endpoint.
      const attempt = byRecipient
        ? (kind === 'check' ? checkAttempts : sendAttempts).increment(
            `${route.name} ${recipient ?? path}`,
          )
        : pathAttempt;
      const inline = kind === 'send' ? inlineOf(recipient) : NO_INLINE;
      const script = scriptFor(
        kind,
        recipient,
        inline,
        firstHeader(req.headers['x-sim-script']),
        pathScript,
      );
      const request: ProviderRequest = {
        ...input,
        recipient,
        attempt,
        statusScript: statusScriptFor(recipient, inline),
      };
      const recordAs = (outcome: string): void =>
        record({
          path,
          method,
          receivedAt,
          headers: flattenHeaders(req.headers),
          body: recordedBody(raw),
          bodyBytes,
          attempt,
          recipient: recipient ?? null,
          script: script.name,
          outcome,
        });

      if ('error' in script) {
        recordAs('400');
        wire.respond(
          route.error(400, { code: 'invalid_script', message: script.error, scripted: false }),
        );
        return;
      }
      const fromHeader = parseLatency(
        firstHeader(req.headers['x-sim-latency-ms']),
        'X-Sim-Latency-Ms',
      );
      const fromQuery = parseLatency(query.get('latency'), 'latency');
      const latencyError = !fromHeader.ok ? fromHeader : !fromQuery.ok ? fromQuery : undefined;
      if (latencyError) {
        recordAs('400');
        wire.respond(
          route.error(400, {
            code: 'invalid_latency',
            message: latencyError.error,
            scripted: false,
          }),
        );
        return;
      }
      const latencyMs =
        (fromHeader.ok ? fromHeader.ms : undefined) ??
        (fromQuery.ok ? fromQuery.ms : undefined) ??
        globalLatencyMs;

      const decision = decide(script.script, attempt);
      let response: SimResponse | undefined;
      if (decision.action === 'succeed') {
        // Scripted faults come first, like a load balancer's; auth only once the request
        // would reach the provider itself.
        response = route.authorize?.(request) ?? route.success(request);
      } else if (decision.action === 'named-error') {
        response = route.namedError
          ? route.namedError(decision.code, request)
          : fallbackNamedError(route, decision.code, request);
      } else if (decision.action === 'error') {
        const retryAfter = decision.retryAfterSeconds;
        const base = route.error(
          decision.status,
          {
            code: retryAfter === undefined ? 'simulated_failure' : 'rate_limited',
            message: `simulated ${decision.status} from script ${script.name} (attempt ${attempt})`,
            scripted: true,
            retryAfterSeconds: retryAfter,
          },
          request,
        );
        response =
          retryAfter === undefined
            ? base
            : { ...base, headers: { ...base.headers, 'retry-after': String(retryAfter) } };
      }
      recordAs(response ? String(response.status) : outcomeOf(decision));

      const act = (): void => {
        if (decision.action === 'reset') wire.reset();
        // 'hang' does nothing: the exchange stays open until the client gives up or close().
        else if (response) wire.respond(response);
      };
      if (latencyMs <= 0 || decision.action === 'hang') {
        act();
        return;
      }
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        act();
      }, latencyMs);
      pendingTimers.add(timer);
      // A client that gives up during the delay must not leave a timer behind.
      wire.onClose(() => {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      });
    };

    req.on('end', () => {
      if (settled) return;
      settled = true;
      try {
        finish();
      } catch (error) {
        // Outside onRequest's try: a faulty route must still not take the server down.
        wire.respond(simError(500, 'internal', (error as Error).message));
      }
    });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const receivedAt = Date.now();
    try {
      const target = splitTarget(req.url ?? '/');
      if (!target) {
        req.resume();
        send(res, simError(400, 'invalid_target', 'request target must be a path'));
        return;
      }
      const { path, query } = target;
      if (control(req, res, path, query)) return;
      for (const route of routes) {
        const match = route.match(path);
        if (match) {
          const wire = http1Wire(req, res);
          handleProvider(req, wire, route, match.script, path, query, req.method ?? '', receivedAt);
          return;
        }
      }
      req.resume();
      send(res, simError(404, 'not_found', `no simulated provider at ${path}`));
    } catch (error) {
      // A bug in one handler must not take down a server that a whole test run depends on.
      req.resume();
      send(res, simError(500, 'internal', (error as Error).message));
    }
  };

  const server = http.createServer({ keepAlive: true }, onRequest);
  // Longer than clients' idle timeouts, so the client, not the server, closes idle sockets and
  // a request never races a server-side close.
  server.keepAliveTimeout = 60_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  // APNs speaks only HTTP/2; Herald's adapter connects with cleartext h2c to this port.
  const apnsSessions = new Set<Http2Session>();
  const apnsServer =
    options.apnsPort === undefined
      ? undefined
      : http2.createServer({}, (req: Http2ServerRequest, res: Http2ServerResponse) => {
          const receivedAt = Date.now();
          const wire = http2Wire(req, res);
          try {
            const target = splitTarget(req.url);
            const match = target ? apnsRoute.match(target.path) : undefined;
            if (!target || !match) {
              req.resume();
              wire.respond(apnsError('BadPath', 404));
              return;
            }
            handleProvider(
              req,
              wire,
              apnsRoute,
              match.script,
              target.path,
              target.query,
              req.method,
              receivedAt,
            );
          } catch {
            req.resume();
            wire.respond(apnsError('InternalServerError', 500));
          }
        });
  if (apnsServer) {
    apnsServer.on('session', (session: Http2Session) => {
      apnsSessions.add(session);
      session.once('close', () => apnsSessions.delete(session));
    });
    // Clients vanishing mid-stream are routine in failure tests; they must not crash us.
    apnsServer.on('sessionError', () => undefined);
  }

  const smtp: SmtpListener | undefined =
    options.smtpPort === undefined
      ? undefined
      : createSmtpListener({
          sendScriptFor: (recipient) => {
            const found = registry.get(recipient)?.send ?? inlineOf(recipient).send;
            return found ?? OK;
          },
          arrive: (route, recipient, path) => {
            pathCounts.increment(path);
            total += 1;
            return sendAttempts.increment(`${route} ${recipient}`);
          },
          record,
          latencyMs: globalLatencyMs,
          bodyRecordLimit: BODY_RECORD_LIMIT,
        });

  const closeHttp = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      // Hanging requests would otherwise hold close() open forever.
      server.closeAllConnections();
    });

  const closeApns = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!apnsServer?.listening) {
        resolve();
        return;
      }
      apnsServer.close(() => resolve());
      for (const session of apnsSessions) session.destroy();
    });

  const close = async (): Promise<void> => {
    for (const timer of pendingTimers) clearTimeout(timer);
    pendingTimers.clear();
    await Promise.all([closeHttp(), closeApns(), smtp?.close()]);
  };

  return {
    server,
    url: () => {
      if (!boundUrl) throw new Error('provider simulator is not listening');
      return boundUrl;
    },
    apnsUrl: () => {
      if (!boundApnsUrl) throw new Error('provider simulator has no APNs listener');
      return boundApnsUrl;
    },
    smtpUrl: () => {
      if (!boundSmtpUrl) throw new Error('provider simulator has no SMTP listener');
      return boundSmtpUrl;
    },
    listen: async (port = 0, host = '127.0.0.1') => {
      const shown = host.includes(':') ? `[${host}]` : host;
      const bound = await listenOn(server, port, host);
      boundUrl = `http://${shown}:${bound}`;
      const addresses: SimAddresses = { host, port: bound, url: boundUrl };
      try {
        if (apnsServer && options.apnsPort !== undefined) {
          const apnsPort = await listenOn(apnsServer, options.apnsPort, host);
          boundApnsUrl = `http://${shown}:${apnsPort}`;
          addresses.apnsUrl = boundApnsUrl;
        }
        if (smtp && options.smtpPort !== undefined) {
          const smtpPort = await smtp.listen(options.smtpPort, host);
          boundSmtpUrl = `smtp://${shown}:${smtpPort}`;
          addresses.smtpUrl = boundSmtpUrl;
        }
      } catch (error) {
        // Half a simulator is worse than none: the caller would test against missing ports.
        await close();
        throw error;
      }
      return addresses;
    },
    close,
    requests,
    stats,
    register,
    unregister: (recipient) => {
      if (recipient === undefined) registry.clear();
      else registry.delete(recipient);
    },
    reset,
  };
}
