import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Herald } from '../support/herald';

const run = randomUUID().slice(0, 8);

/**
 * Without HERALD_ALLOW_PRIVATE_NETWORKS, a webhook naming this machine in any spelling is
 * refused before any connection: a listener on loopback (IPv4 and IPv6) counts zero hits.
 * Traffic stays on loopback, and the refused calls never leave the process.
 */
describe('the network guard against the real servers', () => {
  let herald: Herald;
  const servers: Server[] = [];
  const hits: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    const v4 = createServer((socket) => {
      hits.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => v4.listen(0, '127.0.0.1', resolve));
    servers.push(v4);
    port = (v4.address() as AddressInfo).port;
    const v6 = createServer((socket) => {
      hits.push(socket);
      socket.destroy();
    });
    // The same port on ::1, when this machine has IPv6 loopback.
    await new Promise<void>((resolve) => {
      v6.once('error', () => resolve());
      v6.listen(port, '::1', () => {
        servers.push(v6);
        resolve();
      });
    });
    // The simulator's env allows private networks; this Herald is held to the default.
    herald = await Herald.start({ HERALD_ALLOW_PRIVATE_NETWORKS: 'false' });
  });

  afterAll(async () => {
    await herald?.stop();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['127.0.0.1', (p: number) => `http://127.0.0.1:${p}/hook`],
    ['localhost', (p: number) => `http://localhost:${p}/hook`],
    ['[::1]', (p: number) => `http://[::1]:${p}/hook`],
    ['[::ffff:127.0.0.1]', (p: number) => `http://[::ffff:127.0.0.1]:${p}/hook`],
    ['2130706433', (p: number) => `http://2130706433:${p}/hook`],
  ])(
    'refuses a webhook to %s as blocked_destination, with no connection made',
    async (name, url) => {
      const messageId = `guard-${name.replace(/[^a-z0-9]/gi, '')}-${run}`;
      await herald.send(messageId, url(port));
      const { message, events } = await herald.final(messageId);
      expect(message.status).toBe('undelivered');
      expect(message.attempts).toBe(1);
      expect(message.lastError).toMatchObject({
        category: 'non_retryable',
        code: 'blocked_destination',
      });
      expect(events.map((e) => e.type)).toEqual(['queued', 'undelivered']);
      expect(hits).toHaveLength(0);
    },
  );
});
