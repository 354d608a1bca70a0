import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '@herald/config';
import { STRICT_DESTINATIONS } from '@herald/destinations';
import { setDestinationPolicy, WebhookProvider } from '@herald/providers';

const HEADERS = JSON.stringify({ Authorization: 'Bearer operator-secret-1234' });

describe('HERALD_WEBHOOK_HEADERS go only to the hosts the operator names', () => {
  it('refuses headers without HERALD_WEBHOOK_HEADER_HOSTS, naming it', () => {
    expect(() => loadConfig('sender', { HERALD_WEBHOOK_HEADERS: HEADERS })).toThrow(ConfigError);
    try {
      loadConfig('sender', { HERALD_WEBHOOK_HEADERS: HEADERS });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.objectContaining({ variable: 'HERALD_WEBHOOK_HEADER_HOSTS' }),
      ]);
      expect((error as Error).message).not.toContain('operator-secret-1234');
    }
    const config = loadConfig('sender', {
      HERALD_WEBHOOK_HEADERS: HEADERS,
      HERALD_WEBHOOK_HEADER_HOSTS: 'Hooks.Example.com, 127.0.0.1',
    });
    expect(config.providers.webhook.headerHosts).toEqual(['hooks.example.com', '127.0.0.1']);
  });

  describe('on the wire', () => {
    let server: Server;
    const received: IncomingHttpHeaders[] = [];

    // The receiving server is on loopback, which the network guard refuses unless allowed.
    beforeAll(async () => {
      setDestinationPolicy({ ...STRICT_DESTINATIONS, allowPrivateNetworks: true });
      server = createServer((request, response) => {
        received.push(request.headers);
        request.resume();
        response.writeHead(204).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      setDestinationPolicy(STRICT_DESTINATIONS);
      await new Promise((resolve) => server.close(resolve));
    });

    const send = (headerHosts: string[]) =>
      new WebhookProvider({
        timeoutMs: 2000,
        headers: { authorization: 'Bearer operator-secret-1234' },
        headerHosts,
      }).send({
        messageId: 'm-1',
        tenantId: 't',
        channel: 'webhook',
        recipient: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        content: {},
        metadata: {},
        attempt: 1,
      });

    it('adds them for a named host, and not for any other', async () => {
      expect((await send(['127.0.0.1'])).ok).toBe(true);
      expect((await send(['hooks.example.com'])).ok).toBe(true);
      expect(received.map((h) => h.authorization)).toEqual([
        'Bearer operator-secret-1234',
        undefined,
      ]);
    });
  });
});
