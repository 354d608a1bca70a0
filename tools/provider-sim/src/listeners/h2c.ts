import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import { type SimulatorEngine } from '../engine/engine';
import { apnsError } from '../providers/apns';
import { payloadOf } from './respond';
import {
  closeServer,
  listenOn,
  serveProvider,
  splitTarget,
  type PortListener,
  type Wire,
} from './exchange';

/**
 * The APNs port: APNs speaks only HTTP/2, and Herald's adapter connects with cleartext h2c.
 * Answers outside a route (bad path, a listener fault) are APNs's own, as Apple's would be.
 */

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

export function createApnsListener(engine: SimulatorEngine): PortListener {
  const sessions = new Set<Http2Session>();
  const server = http2.createServer({}, (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const receivedAt = Date.now();
    const wire = http2Wire(req, res);
    try {
      const target = splitTarget(req.url);
      const match = target ? engine.routeFor('apns', target.path) : undefined;
      if (!target || !match) {
        req.resume();
        wire.respond(apnsError('BadPath', 404));
        return;
      }
      serveProvider(engine, req, wire, {
        route: match.route,
        pathScript: match.script,
        path: target.path,
        query: target.query,
        method: req.method,
        headers: req.headers,
        receivedAt,
      });
    } catch {
      req.resume();
      wire.respond(apnsError('InternalServerError', 500));
    }
  });
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  // Clients vanishing mid-stream are routine in failure tests; they must not crash us.
  server.on('sessionError', () => undefined);

  return {
    listen: (port, host) => listenOn(server, port, host),
    close: () =>
      closeServer(server, () => {
        for (const session of sessions) session.destroy();
      }),
  };
}
