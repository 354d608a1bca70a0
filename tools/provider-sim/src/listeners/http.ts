import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';
import { type SimulatorEngine } from '../engine/engine';
import { createControl } from './control';
import {
  closeServer,
  listenOn,
  serveProvider,
  splitTarget,
  type PortListener,
  type Wire,
} from './exchange';
import { send, simError } from './respond';

/**
 * The HTTP/1.1 port (plain node:http: benchmarks push thousands of requests a second through
 * it): the control API (control.ts) and every provider but APNs, routed by the engine.
 */

export interface HttpListener extends PortListener {
  server: http.Server;
}

function resetSocket(socket: Socket): void {
  try {
    // A real RST (ECONNRESET at the client), not a polite FIN that reads as an empty response.
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function http1Wire(req: IncomingMessage, res: ServerResponse): Wire {
  return {
    respond: (response) => send(res, response),
    reset: () => resetSocket(req.socket),
    onClose: (listener) => res.once('close', listener),
  };
}

/** Answers malformed requests node:http cannot hand to us, instead of just dropping them. */
function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function createHttpListener(engine: SimulatorEngine): HttpListener {
  const control = createControl(engine);

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
      const match = engine.routeFor('http', path);
      if (!match) {
        req.resume();
        send(res, simError(404, 'not_found', `no simulated provider at ${path}`));
        return;
      }
      serveProvider(engine, req, http1Wire(req, res), {
        route: match.route,
        pathScript: match.script,
        path,
        query,
        method: req.method ?? '',
        headers: req.headers,
        receivedAt,
      });
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
  server.on('clientError', onClientError);

  return {
    server,
    listen: (port, host) => listenOn(server, port, host),
    // Hanging requests would otherwise hold close() open forever.
    close: () => closeServer(server, () => server.closeAllConnections()),
  };
}
