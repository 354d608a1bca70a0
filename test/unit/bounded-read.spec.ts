import { createServer, type Server } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  BoundedBody,
  callHttp2,
  callProvider,
  Http2Sessions,
  RESPONSE_READ_LIMIT_BYTES,
  setDestinationPolicy,
} from '@herald/providers';
import { STRICT_DESTINATIONS } from '@herald/destinations';

// These tests' servers listen on loopback, which the network guard refuses unless allowed.
beforeAll(() => setDestinationPolicy({ ...STRICT_DESTINATIONS, allowPrivateNetworks: true }));
afterAll(() => setDestinationPolicy(STRICT_DESTINATIONS));

/** 64 KiB chunks, sent until the client goes away: an answer with no end. */
const CHUNK = Buffer.alloc(64 * 1024, 'x');

describe('BoundedBody', () => {
  it('keeps chunks up to the limit and says when to stop', () => {
    const body = new BoundedBody(10);
    expect(body.add(Buffer.from('12345'))).toBe(true);
    expect(body.add(Buffer.from('67890abc'))).toBe(false);
    expect(body.full).toBe(true);
    expect(body.text()).toBe('1234567890');
  });
});

describe('provider calls read a bounded part of the answer', () => {
  let server: Server;
  let h2: http2.Http2Server;

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const pump = () => {
        while (!response.destroyed && response.write(CHUNK));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    h2 = http2.createServer();
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      const pump = () => {
        while (!stream.destroyed && !stream.closed && stream.write(CHUNK));
        if (!stream.destroyed && !stream.closed) stream.once('drain', pump);
      };
      stream.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => h2.close(resolve));
  });

  it('HTTP/1.1: an endless answer ends the call with the first 16 KiB, logged truncated', async () => {
    const { port } = server.address() as AddressInfo;
    const outcome = await callProvider(
      { method: 'POST', url: `http://127.0.0.1:${port}/endless`, headers: {}, body: '{}' },
      { timeoutMs: 5_000, secrets: [] },
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(Buffer.byteLength(outcome.body)).toBe(RESPONSE_READ_LIMIT_BYTES);
    expect(outcome.log.response?.body).toMatch(/…\[truncated, \d+ bytes total\]$/);
  });

  it('HTTP/2: an endless answer ends the call with the first 16 KiB, and the stream is cancelled', async () => {
    const { port } = h2.address() as AddressInfo;
    const sessions = new Http2Sessions();
    try {
      const outcome = await callHttp2(
        sessions,
        { method: 'POST', url: `http://127.0.0.1:${port}/endless`, headers: {}, body: '{}' },
        { timeoutMs: 5_000, secrets: [] },
      );
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(Buffer.byteLength(outcome.body)).toBe(RESPONSE_READ_LIMIT_BYTES);
    } finally {
      await sessions.close();
    }
  });
});
