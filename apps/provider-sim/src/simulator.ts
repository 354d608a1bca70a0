import { randomUUID } from 'node:crypto';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { type Socket } from 'node:net';
import { decide, hookScriptOf, outcomeOf, parseLatency, parseScript } from './scripts';

/**
 * A stand-in for the providers Herald calls. Plain node:http rather than a framework because
 * benchmarks push thousands of requests a second through it and it must stay out of their way.
 */

export const BODY_RECORD_LIMIT = 4096;
export const DEFAULT_MAX_RECORDED = 100_000;
export const DEFAULT_MAX_PATHS = 1_000_000;
const DEFAULT_STATS_LIMIT = 1000;
const MAX_STATS_LIMIT = 100_000;

export interface RecordedRequest {
  path: string;
  method: string;
  /** ms since the epoch, taken when the request arrived (before its body was read). */
  receivedAt: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** utf-8, cut at BODY_RECORD_LIMIT bytes. */
  body: string;
  bodyBytes: number;
  /** 1-based count of requests received on this path since the last reset. */
  attempt: number;
  /** The script that applied (the X-Sim-Script header wins over the path). */
  script: string;
  /** The HTTP status as a string ('200', '503'…), or 'reset', 'hang', 'aborted'. */
  outcome: string;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON; omitted for statuses that carry no body. */
  body?: unknown;
}

/** What a provider route sees of a request once its body has been read. */
export interface ProviderRequest {
  path: string;
  query: URLSearchParams;
  method: string;
  headers: IncomingHttpHeaders;
  /** The first BODY_RECORD_LIMIT bytes as utf-8: enough for any request a route inspects. */
  body: string;
  attempt: number;
}

/**
 * One simulated provider API. Every route shares scripting, latency and recording; a route only
 * says which paths it owns, which script a path asks for, and what its answers look like, so
 * SendGrid, Twilio, Slack, FCM or APNs can be added as one more entry in the table.
 */
export interface ProviderRoute {
  name: string;
  methods: readonly string[];
  /**
   * undefined when the path is not this route's; otherwise the script the path names, or
   * undefined for routes whose paths carry none (they run `ok` unless X-Sim-Script says else).
   */
  match(path: string): { script: string | undefined } | undefined;
  success(request: ProviderRequest): SimResponse;
  error(status: number, code: string, message: string): SimResponse;
}

/** `POST /hooks/<script>/<anything...>`: a generic webhook receiver. */
export const webhookRoute: ProviderRoute = {
  name: 'webhook',
  methods: ['POST'],
  match: (path) => {
    if (path !== '/hooks' && !path.startsWith('/hooks/')) return undefined;
    // An empty script is reported as unknown rather than defaulting to ok, to surface typos.
    return { script: hookScriptOf(path) ?? '' };
  },
  success: () => ({ status: 200, body: { ok: true, id: randomUUID() } }),
  error: (status, code, message) => ({
    status,
    body: { ok: false, error: { status, code, message } },
  }),
};

export interface SimulatorOptions {
  /** Delay before every answer unless a request overrides it. */
  latencyMs?: number;
  /** Recordings kept; the oldest are dropped first. 0 turns recording off. */
  maxRecorded?: number;
  /** Paths whose attempt counters are kept; the least recently used are forgotten first. */
  maxPaths?: number;
  /** Provider routes in addition to the webhook route, tried in order after it. */
  routes?: readonly ProviderRoute[];
  /** Called with one line per provider request; off by default because it costs throughput. */
  log?: (line: string) => void;
}

export interface RequestFilter {
  path?: string;
  prefix?: string;
  /** Only the most recent n matches. */
  limit?: number;
}

export interface SimStats {
  /** Provider requests received since the last reset, recorded or not. */
  total: number;
  /** Recordings currently held. */
  recorded: number;
  /** Distinct paths with a live attempt counter. */
  paths: number;
  /** Requests per path (of the paths matching the prefix, at most `limit` of them). */
  byPath: Record<string, number>;
  /** True when byPath left paths out because of the limit. */
  truncated: boolean;
}

export interface Simulator {
  server: http.Server;
  listen(port?: number, host?: string): Promise<{ host: string; port: number; url: string }>;
  close(): Promise<void>;
  /** Base URL once listening, e.g. http://127.0.0.1:4010. */
  url(): string;
  requests(filter?: RequestFilter): RecordedRequest[];
  stats(filter?: { prefix?: string; limit?: number }): SimStats;
  reset(): void;
}

/** Fixed-capacity ring: recording must cost O(1) and bounded memory under benchmark load. */
class Ring<T> {
  private items: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity === 0) return;
    if (this.items.length < this.capacity) {
      this.items.push(item);
    } else {
      this.items[this.next] = item;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** Matching items, oldest first, without copying the whole ring for every query. */
  select(wanted: (item: T) => boolean): T[] {
    const out: T[] = [];
    const n = this.items.length;
    for (let i = 0; i < n; i += 1) {
      const item = this.items[(this.next + i) % n] as T;
      if (wanted(item)) out.push(item);
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.next = 0;
  }
}

/** Per-path attempt counters, bounded so unique-path-per-message benchmarks cannot exhaust memory. */
class Counters {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  increment(path: string): number {
    const count = (this.counts.get(path) ?? 0) + 1;
    // Re-inserting keeps Map order least-recently-used first, so eviction drops idle paths.
    this.counts.delete(path);
    this.counts.set(path, count);
    if (this.counts.size > this.capacity) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    return count;
  }

  get size(): number {
    return this.counts.size;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  clear(): void {
    this.counts.clear();
  }
}

interface ControlRoute {
  method: 'GET' | 'DELETE';
  handle(query: URLSearchParams): SimResponse;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function send(res: ServerResponse, response: SimResponse): void {
  if (res.headersSent || res.destroyed) return;
  const noBody = response.status === 204 || response.status === 304 || response.body === undefined;
  const payload = noBody ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...JSON_HEADERS,
    ...response.headers,
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

function simError(status: number, code: string, message: string): SimResponse {
  return { status, body: { ok: false, error: { status, code, message } } };
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
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

function parseLimit(value: string | null, fallback: number, max: number): number | undefined {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), max);
}

function resetSocket(socket: Socket): void {
  try {
    // A real RST (ECONNRESET at the client), not a polite FIN that reads as an empty response.
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const globalLatencyMs = options.latencyMs ?? 0;
  const maxRecorded = options.maxRecorded ?? DEFAULT_MAX_RECORDED;
  const routes: readonly ProviderRoute[] = [webhookRoute, ...(options.routes ?? [])];
  const log = options.log;
  const recordings = new Ring<RecordedRequest>(maxRecorded);
  const counters = new Counters(options.maxPaths ?? DEFAULT_MAX_PATHS);
  const pendingTimers = new Set<NodeJS.Timeout>();
  let total = 0;
  let boundUrl: string | undefined;

  const requests = (filter: RequestFilter = {}): RecordedRequest[] => {
    const { path, prefix, limit } = filter;
    const all = recordings.select(
      path !== undefined
        ? (r) => r.path === path
        : prefix !== undefined
          ? (r) => r.path.startsWith(prefix)
          : () => true,
    );
    return limit !== undefined && all.length > limit ? all.slice(all.length - limit) : all;
  };

  const stats = (filter: { prefix?: string; limit?: number } = {}): SimStats => {
    const limit = filter.limit ?? DEFAULT_STATS_LIMIT;
    const byPath: Record<string, number> = {};
    let listed = 0;
    let truncated = false;
    for (const [path, count] of counters.entries()) {
      if (filter.prefix !== undefined && !path.startsWith(filter.prefix)) continue;
      if (listed >= limit) {
        truncated = true;
        break;
      }
      byPath[path] = count;
      listed += 1;
    }
    return { total, recorded: recordings.size, paths: counters.size, byPath, truncated };
  };

  const reset = (): void => {
    recordings.clear();
    counters.clear();
    total = 0;
  };

  const control = new Map<string, ControlRoute[]>([
    ['/health/live', [{ method: 'GET', handle: () => ({ status: 200, body: { status: 'ok' } }) }]],
    ['/health/ready', [{ method: 'GET', handle: () => ({ status: 200, body: { status: 'ok' } }) }]],
    [
      '/_sim/requests',
      [
        {
          method: 'GET',
          handle: (query) => {
            const limit = parseLimit(query.get('limit'), Number.MAX_SAFE_INTEGER, Infinity);
            if (limit === undefined)
              return simError(400, 'invalid_limit', 'limit must be a number');
            const path = query.get('path') ?? undefined;
            const prefix = query.get('prefix') ?? undefined;
            return { status: 200, body: { requests: requests({ path, prefix, limit }) } };
          },
        },
        {
          method: 'DELETE',
          handle: () => {
            reset();
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
          handle: (query) => {
            const limit = parseLimit(query.get('limit'), DEFAULT_STATS_LIMIT, MAX_STATS_LIMIT);
            if (limit === undefined)
              return simError(400, 'invalid_limit', 'limit must be a number');
            return {
              status: 200,
              body: stats({ prefix: query.get('prefix') ?? undefined, limit }),
            };
          },
        },
      ],
    ],
  ]);

  const handleControl = (
    req: IncomingMessage,
    res: ServerResponse,
    handlers: ControlRoute[],
    query: URLSearchParams,
  ): void => {
    req.resume();
    // HEAD is answered like GET; node leaves the body out.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = handlers.find((h) => h.method === method);
    if (!handler) {
      const allow = handlers.map((h) => h.method).join(', ');
      send(res, {
        ...simError(405, 'method_not_allowed', `use ${allow}`),
        headers: { allow },
      });
      return;
    }
    send(res, handler.handle(query));
  };

  const handleProvider = (
    req: IncomingMessage,
    res: ServerResponse,
    route: ProviderRoute,
    pathScript: string | undefined,
    path: string,
    query: URLSearchParams,
    receivedAt: number,
  ): void => {
    const method = req.method ?? '';
    if (!route.methods.includes(method)) {
      req.resume();
      const allow = route.methods.join(', ');
      send(res, {
        ...route.error(405, 'method_not_allowed', `${route.name} accepts ${allow}`),
        headers: { allow },
      });
      return;
    }

    // Counted on arrival so concurrent requests on one path get attempts in arrival order.
    const attempt = counters.increment(path);
    total += 1;
    const keep = maxRecorded > 0;
    const chunks: Buffer[] = [];
    let kept = 0;
    let bodyBytes = 0;
    let settled = false;

    const record = (script: string, outcome: string, body: string): void => {
      if (keep) {
        recordings.push({
          path,
          method,
          receivedAt,
          headers: flattenHeaders(req.headers),
          body,
          bodyBytes,
          attempt,
          script,
          outcome,
        });
      }
      log?.(
        `${new Date(receivedAt).toISOString()} ${method} ${path} #${attempt} ${script} -> ${outcome}`,
      );
    };

    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (kept < BODY_RECORD_LIMIT) {
        const slice = chunk.subarray(0, BODY_RECORD_LIMIT - kept);
        chunks.push(slice);
        kept += slice.length;
      }
    });

    const abandon = (): void => {
      if (settled) return;
      settled = true;
      const script = firstHeader(req.headers['x-sim-script']) ?? pathScript ?? 'ok';
      record(script, 'aborted', Buffer.concat(chunks).toString('utf8'));
    };
    req.on('error', abandon);
    req.on('close', () => {
      if (!req.complete) abandon();
    });

    const finish = (): void => {
      const body = Buffer.concat(chunks).toString('utf8');
      const scriptName = firstHeader(req.headers['x-sim-script']) ?? pathScript ?? 'ok';
      const parsed = parseScript(scriptName);
      if (!parsed.ok) {
        record(scriptName, '400', body);
        send(res, route.error(400, 'invalid_script', parsed.error));
        return;
      }
      const fromHeader = parseLatency(
        firstHeader(req.headers['x-sim-latency-ms']),
        'X-Sim-Latency-Ms',
      );
      const fromQuery = parseLatency(query.get('latency'), 'latency');
      const latencyError = !fromHeader.ok ? fromHeader : !fromQuery.ok ? fromQuery : undefined;
      if (latencyError) {
        record(scriptName, '400', body);
        send(res, route.error(400, 'invalid_latency', latencyError.error));
        return;
      }
      const latencyMs =
        (fromHeader.ok ? fromHeader.ms : undefined) ??
        (fromQuery.ok ? fromQuery.ms : undefined) ??
        globalLatencyMs;

      const decision = decide(parsed.script, attempt);
      const request: ProviderRequest = {
        path,
        query,
        method,
        headers: req.headers,
        body,
        attempt,
      };
      let response: SimResponse | undefined;
      if (decision.action === 'succeed') {
        response = route.success(request);
      } else if (decision.action === 'error') {
        const retryAfter = decision.retryAfterSeconds;
        const base = route.error(
          decision.status,
          retryAfter === undefined ? 'simulated_failure' : 'rate_limited',
          `simulated ${decision.status} from script ${scriptName} (attempt ${attempt})`,
        );
        response =
          retryAfter === undefined
            ? base
            : { ...base, headers: { ...base.headers, 'retry-after': String(retryAfter) } };
      }
      record(scriptName, response ? String(response.status) : outcomeOf(decision), body);

      const act = (): void => {
        if (decision.action === 'reset') resetSocket(req.socket);
        // 'hang' does nothing: the socket stays open until the client gives up or close().
        else if (response) send(res, response);
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
      res.once('close', () => {
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
        send(res, simError(500, 'internal', (error as Error).message));
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
      const handlers = control.get(path);
      if (handlers) {
        handleControl(req, res, handlers, query);
        return;
      }
      for (const route of routes) {
        const match = route.match(path);
        if (match) {
          handleProvider(req, res, route, match.script, path, query, receivedAt);
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

  return {
    server,
    url: () => {
      if (!boundUrl) throw new Error('provider simulator is not listening');
      return boundUrl;
    },
    listen: (port = 0, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address();
          const bound = typeof address === 'object' && address ? address.port : port;
          const shown = host.includes(':') ? `[${host}]` : host;
          boundUrl = `http://${shown}:${bound}`;
          resolve({ host, port: bound, url: boundUrl });
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        // Hanging requests would otherwise hold close() open forever.
        server.closeAllConnections();
      }),
    requests,
    stats,
    reset,
  };
}
