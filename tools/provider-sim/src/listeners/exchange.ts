import { type IncomingHttpHeaders } from 'node:http';
import { type Server } from 'node:net';
import { type Readable } from 'node:stream';
import { type SimulatorEngine } from '../engine/engine';
import { BODY_PARSE_LIMIT, type Arrival, type Verdict } from '../engine/exchange';
import { type SimResponse } from '../route';
import { simError } from './respond';

/**
 * What the HTTP/1.1 and h2c listeners share: reading a provider request's body into the
 * engine, carrying out its verdict on the wire, request targets, and binding and closing a
 * port.
 */

/** How an answer reaches the client; HTTP/1.1 and HTTP/2 differ only here. */
export interface Wire {
  respond(response: SimResponse): void;
  /** Drops the exchange without an answer: a TCP reset, or RST_STREAM on HTTP/2. */
  reset(): void;
  /** Runs once the exchange is over, answered or not. */
  onClose(listener: () => void): void;
}

/** The request side both node:http and node:http2 (compat) give us. */
export type IncomingBody = Readable & { headers: IncomingHttpHeaders; complete: boolean };

/** A body's first `limit` bytes, and how many bytes it had in all. */
export class BodyBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Bytes received, kept or not. */
  bytes = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.size < this.limit) {
      const slice = chunk.subarray(0, this.limit - this.size);
      this.chunks.push(slice);
      this.size += slice.length;
    }
  }

  kept(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Hands a provider request to the engine, streams its body in and answers as it decides. */
export function serveProvider(
  engine: SimulatorEngine,
  req: IncomingBody,
  wire: Wire,
  arrival: Arrival,
): void {
  const admission = engine.begin(arrival);
  if (!admission.ok) {
    req.resume();
    wire.respond(admission.response);
    return;
  }
  const { exchange } = admission;
  const body = new BodyBuffer(BODY_PARSE_LIMIT);
  let settled = false;

  req.on('data', (chunk: Buffer) => body.add(chunk));
  const abandon = (): void => {
    if (settled) return;
    settled = true;
    exchange.abandon(body.kept(), body.bytes);
  };
  req.on('error', abandon);
  req.on('close', () => {
    if (!req.complete) abandon();
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    try {
      carryOut(engine, wire, exchange.complete(body.kept(), body.bytes));
    } catch (error) {
      // Outside the listener's own try: a faulty route must still not take the server down.
      wire.respond(simError(500, 'internal', (error as Error).message));
    }
  });
}

function carryOut(engine: SimulatorEngine, wire: Wire, verdict: Verdict): void {
  // 'hang' does nothing: the exchange stays open until the client gives up or close().
  if (verdict.action === 'hang') return;
  const act = (): void => {
    if (verdict.action === 'reset') wire.reset();
    else wire.respond(verdict.response);
  };
  if (verdict.delayMs <= 0) {
    act();
    return;
  }
  // A client that gives up during the delay must not leave a timer behind.
  wire.onClose(engine.after(verdict.delayMs, act));
}

export function splitTarget(target: string): { path: string; query: URLSearchParams } | undefined {
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

/** Binds the server; resolves with the port it got (the OS picks one for port 0). */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
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

/**
 * Stops accepting and resolves once the server is closed; `drop` ends the connections that
 * would otherwise hold close() open (hanging exchanges, idle keep-alive sessions).
 */
export function closeServer(server: Server, drop: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    drop();
  });
}

/** A bound listener: the HTTP/1.1, h2c and SMTP ones alike. */
export interface PortListener {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}
