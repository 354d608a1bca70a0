import type { ServiceName } from '@herald/config';
import { localServer } from '@tools/harness';
import { serverMode } from '../support/servers';
import {
  readiness,
  startService,
  stopService,
  waitUntilReady,
  type RunningService,
} from '@tools/harness';
import { waitFor } from '@tools/harness';

const SERVICES: ServiceName[] = ['ingest', 'sender', 'status-checker', 'projector'];

describe('the four services against the real servers', () => {
  let services: RunningService[] = [];

  beforeAll(async () => {
    services = await Promise.all(SERVICES.map((name) => startService(name)));
    await Promise.all(services.map((service) => waitUntilReady(service)));
  });

  afterAll(async () => {
    const codes = await Promise.all(services.map(stopService));
    // Shut down on SIGTERM without an error exit.
    expect(codes.every((code) => code === 0 || code === null)).toBe(true);
  });

  it('each answers live and ready with all three dependencies up', async () => {
    for (const service of services) {
      const live = await fetch(`http://127.0.0.1:${service.port}/health/live`);
      // The body says why a service is not live (a consumer stopped, writes failing).
      expect({ service: service.name, status: live.status, body: await live.json() }).toEqual({
        service: service.name,
        status: 200,
        body: { status: 'live', service: service.name },
      });
      const ready = await readiness(service);
      expect(ready).toEqual({
        status: 200,
        body: {
          status: 'ready',
          service: service.name,
          ready: true,
          checks: {
            kafka: { status: 'up' },
            schemaRegistry: { status: 'up' },
            mongodb: { status: 'up' },
          },
        },
      });
    }
  });

  it('each serves Prometheus metrics; the projector its own as well', async () => {
    for (const service of services) {
      const response = await fetch(`http://127.0.0.1:${service.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      if (service.name === 'projector') {
        expect(text).toContain('# TYPE herald_projector_projection_lag_seconds histogram');
        expect(text).toContain('# TYPE herald_projector_request_to_sent_seconds histogram');
      }
    }
  });

  // Only the local servers are ours to stop and start; an external or containerised broker is not.
  const localOnly = process.env.HERALD_TEST_SERVERS === 'local' ? it : it.skip;

  localOnly('turns not ready when the broker dies, and ready again when it returns', async () => {
    expect(serverMode()).toBe('local');
    const [sender] = services;
    if (!sender) throw new Error('no service started');
    expect(localServer('kafka', 'kill')).toBe(0);
    const killedAt = Date.now();
    const down = await waitFor(
      'readiness to fail without the broker',
      async () => {
        const ready = await readiness(sender);
        return ready.status === 503 ? ready : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const secondsToNotReady = (Date.now() - killedAt) / 1000;
    expect(down.body).toMatchObject({ ready: false, checks: { kafka: { status: 'down' } } });
    process.stdout.write(`broker killed → not ready after ${secondsToNotReady.toFixed(1)} s\n`);

    expect(localServer('kafka', 'start')).toBe(0);
    const restartedAt = Date.now();
    await Promise.all(services.map((service) => waitUntilReady(service, 60_000)));
    process.stdout.write(
      `broker restarted → all four ready after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s\n`,
    );
  });
});
