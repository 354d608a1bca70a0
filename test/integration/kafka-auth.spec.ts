import { randomUUID } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { createKafka } from '@herald/kafka';
import {
  isRunning,
  outputTail,
  readiness,
  startService,
  stopService,
  waitFor,
  waitUntilReady,
  type RunningService,
} from '@tools/harness';
import { testEnv } from '../support/servers';

/**
 * Herald against a listener that requires SASL: the local broker's SASL_PLAINTEXT listener
 * (scripts/infra/kafka.sh, user `herald` with PLAIN and SCRAM credentials). With servers from the
 * environment, HERALD_TEST_KAFKA_SASL_BROKERS (and _USERNAME/_PASSWORD) name such a listener;
 * testcontainers' broker has none, so there these tests are skipped.
 */
const env = testEnv();
const sasl = env.kafkaSasl;
const withSasl = sasl ? describe : describe.skip;

withSasl('Kafka with SASL authentication', () => {
  const listener = sasl!;
  let started: RunningService[] = [];

  /** The environment a service gets to use the SASL listener as `mechanism`. */
  const saslEnv = (mechanism: string, password: string): Record<string, string> => ({
    KAFKA_BROKERS: listener.brokers.join(','),
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: listener.username,
    KAFKA_SASL_PASSWORD: password,
  });

  async function start(serviceEnv: Record<string, string>): Promise<RunningService> {
    const service = await startService('sender', { env: serviceEnv });
    started.push(service);
    return service;
  }

  afterEach(async () => {
    // A short grace: the harness's grace timer outlives the stop and holds jest open that long.
    await Promise.all(started.map((service) => stopService(service, 15_000)));
    started = [];
  });

  it('answers the tools’ clients for each mechanism with the right password only', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const admin = createKafka({
        brokers: listener.brokers,
        clientId: 'herald-test-sasl',
        sasl: { mechanism, username: listener.username, password: listener.password },
      }).admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        expect((await admin.describeCluster()).brokers.length).toBeGreaterThan(0);
      } finally {
        await admin.disconnect();
      }
      const wrongClient = createKafka({
        brokers: listener.brokers,
        clientId: 'herald-test-sasl',
        sasl: { mechanism, username: listener.username, password: `wrong-${randomUUID()}` },
      });
      wrongClient.logger().setLogLevel(logLevel.NOTHING); // the refusal is the expected outcome
      const refused = wrongClient.admin({ retry: { retries: 0 } });
      await expect(refused.connect()).rejects.toThrow(/authentication failed/i);
      await refused.disconnect();
    }
  });

  it('a service with the right SCRAM-SHA-256 credentials becomes ready', async () => {
    const sender = await start(saslEnv('scram-sha-256', listener.password));
    await waitUntilReady(sender, 60_000);
    const ready = await readiness(sender);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ checks: { kafka: { status: 'up' } } });
    expect(sender.output()).not.toContain(listener.password);
  });

  it('a service with a wrong password stops at start, naming Kafka, without the password', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const startedAt = Date.now();
    const sender = await start(saslEnv('scram-sha-256', wrong));
    // kafkajs does not retry a refused login, so the exit comes within seconds, not minutes.
    // Exited, and its output read to the end (the exit can come before the pipes drain).
    const drained = () =>
      [sender.process.stdout, sender.process.stderr].every((s) => !s || s.closed);
    const code = await waitFor(
      'the sender to exit',
      () => (isRunning(sender) || !drained() ? undefined : sender.process.exitCode),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const output = sender.output();
    expect({ code, tail: outputTail(sender) }).toMatchObject({ code: 1 });
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(output).toContain(
      `failed to start: cannot connect to Kafka at ${listener.brokers.join(',')}: ` +
        `SASL authentication failed for user '${listener.username}' (mechanism scram-sha-256)`,
    );
    expect(output).not.toContain(wrong);
    expect(output).not.toContain(listener.password);
  });
});
