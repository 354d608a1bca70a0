import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import {
  parseReceiverSecrets,
  receiverPathOf,
  verifyReceiverSignature,
  type RecordedRequest,
  type Simulator,
  createSimulator,
} from '@tools/provider-sim';

// The helpers are pure; the route tests run the simulator in-process on a free loopback port,
// so like every unit spec this needs no broker, registry or database.

/** The Standard Webhooks specification's published example. */
const SPEC_EXAMPLE = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** The headers a Standard Webhooks sender puts on a delivery signed with `secrets`. */
function signedHeaders(
  payload: string,
  secrets: readonly string[],
  sentAt = new Date(),
): Record<string, string> {
  const id = `msg_${randomUUID()}`;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
    'webhook-signature': secrets
      .map((secret) => new Webhook(secret).sign(id, sentAt, payload))
      .join(' '),
  };
}

describe('Standard Webhooks verification', () => {
  const exampleHeaders = {
    'webhook-id': SPEC_EXAMPLE.id,
    'webhook-timestamp': String(SPEC_EXAMPLE.timestamp),
    'webhook-signature': SPEC_EXAMPLE.signature,
  };

  afterEach(() => jest.restoreAllMocks());

  it("signs the specification's example as published", () => {
    const sentAt = new Date(SPEC_EXAMPLE.timestamp * 1000);
    const signature = new Webhook(SPEC_EXAMPLE.secret).sign(
      SPEC_EXAMPLE.id,
      sentAt,
      SPEC_EXAMPLE.payload,
    );
    expect(signature).toBe(SPEC_EXAMPLE.signature);
  });

  it("verifies the specification's example when the clock reads its timestamp", () => {
    // The package reads Date.now() for its five-minute window; the example is from 2021.
    jest.spyOn(Date, 'now').mockReturnValue(SPEC_EXAMPLE.timestamp * 1000 + 30_000);
    expect(
      verifyReceiverSignature([SPEC_EXAMPLE.secret], SPEC_EXAMPLE.payload, exampleHeaders),
    ).toEqual({ verified: true, bySecret: [true], failures: [undefined] });

    const tampered = verifyReceiverSignature(
      [SPEC_EXAMPLE.secret],
      '{"test": 2432232315}',
      exampleHeaders,
    );
    expect(tampered).toEqual({
      verified: false,
      bySecret: [false],
      failures: ['No matching signature found'],
    });
  });

  it("rejects the specification's example today only because its timestamp is old", () => {
    expect(
      verifyReceiverSignature([SPEC_EXAMPLE.secret], SPEC_EXAMPLE.payload, exampleHeaders),
    ).toEqual({ verified: false, bySecret: [false], failures: ['Message timestamp too old'] });
  });

  it('checks each secret on its own, accepting any of several signatures', () => {
    const secrets = [newSecret(), newSecret(), newSecret()];
    const payload = JSON.stringify({ type: 'delivery.succeeded' });
    // Signed with the second and third secret, as a sender in the middle of a rotation would.
    const headers = signedHeaders(payload, secrets.slice(1));
    const check = verifyReceiverSignature(secrets, payload, headers);
    expect(check.verified).toBe(true);
    expect(check.bySecret).toEqual([false, true, true]);
  });

  it('reports missing headers as such', () => {
    const check = verifyReceiverSignature([newSecret()], '{}', {});
    expect(check).toEqual({
      verified: false,
      bySecret: [false],
      failures: ['Missing required headers'],
    });
  });

  it('reads the script and name of a receiver path', () => {
    expect(receiverPathOf('/receivers/ok/orders')).toEqual({ script: 'ok', name: 'orders' });
    expect(receiverPathOf('/receivers/fail-503-2/team/a%20b')).toEqual({
      script: 'fail-503-2',
      name: 'team/a b',
    });
    expect(receiverPathOf('/receivers//orders')).toEqual({ script: '', name: 'orders' });
    expect(receiverPathOf('/receivers/ok/%zz')).toEqual({ script: 'ok', name: '%zz' });
    expect(receiverPathOf('/receivers/ok')).toBeUndefined();
    expect(receiverPathOf('/receivers/ok/')).toBeUndefined();
    expect(receiverPathOf('/hooks/ok/orders')).toBeUndefined();
  });

  it.each([
    ['body', 'orders', ['nope']],
    ['body', 'orders', null],
    ['secrets', 'orders', {}],
    ['secrets', 'orders', { secrets: [] }],
    ['secrets', 'orders', { secrets: 'whsec_abcd' }],
    ['secrets', 'orders', { secrets: Array.from({ length: 5 }, newSecret) }],
    ['secrets[0]', 'orders', { secrets: ['abcd'] }],
    ['secrets[1]', 'orders', { secrets: [newSecret(), 42] }],
    ['secrets[0]', 'orders', { secrets: ['whsec_'] }],
    ['secrets[0]', 'orders', { secrets: ['whsec_!!not-base64!!'] }],
    ['secret', 'orders', { secret: [newSecret()] }],
    ['name', '', { secrets: [newSecret()] }],
  ])('refuses a registration naming %s', (field, name, body) => {
    const parsed = parseReceiverSecrets(name, body);
    expect(parsed).toEqual({ ok: false, field, error: expect.any(String) });
  });

  it('accepts one to four whsec_ secrets', () => {
    const secrets = Array.from({ length: 4 }, newSecret);
    expect(parseReceiverSecrets('orders', { secrets })).toEqual({ ok: true, secrets });
  });
});

interface Answer {
  status: number;
  body: unknown;
}

describe('provider simulator receivers', () => {
  let sim: Simulator;
  let base: string;
  const agent = new Agent({ keepAliveTimeout: 10_000 });

  async function call(
    path: string,
    init: {
      method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
      headers?: Record<string, string>;
      body?: string;
    } = {},
  ): Promise<Answer> {
    const res = await request(`${base}${path}`, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: init.body,
      dispatcher: agent,
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  }

  /** Posts a delivery to `path`, signed with `signingSecrets` as Herald would sign it. */
  function deliver(
    path: string,
    signingSecrets: readonly string[],
    sentAt?: Date,
  ): Promise<Answer> {
    const payload = JSON.stringify({ type: 'delivery.succeeded', id: randomUUID() });
    return call(path, { body: payload, headers: signedHeaders(payload, signingSecrets, sentAt) });
  }

  function recorded(path: string): RecordedRequest[] {
    return sim.requests({ path });
  }

  /** A receiver name no other test uses, with its secrets registered. */
  function receiver(secrets: readonly string[]): string {
    const name = `orders-${randomUUID()}`;
    sim.registerReceiver(name, secrets);
    return name;
  }

  beforeAll(async () => {
    sim = createSimulator({ latencyMs: 0 });
    ({ url: base } = await sim.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await sim.close();
    await agent.close();
  });

  it('answers 200 to a delivery signed with the registered secret, and records it verified', async () => {
    const secret = newSecret();
    const path = `/receivers/ok/${receiver([secret])}`;
    const answer = await deliver(path, [secret]);
    expect(answer).toEqual({ status: 200, body: { ok: true } });

    const [request, ...rest] = recorded(path);
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      attempt: 1,
      outcome: '200',
      script: 'ok',
      recipient: null,
      signature: { verified: true, bySecret: [true] },
    });
    expect(request?.headers['webhook-signature']).toMatch(/^v1,/);

    // The control API's recordings carry it too.
    const listed = await call(`/_sim/requests?path=${encodeURIComponent(path)}`, {
      method: 'GET',
    });
    expect(listed.body).toEqual({
      requests: [expect.objectContaining({ signature: { verified: true, bySecret: [true] } })],
    });
  });

  it('tells which of two registered secrets verified a delivery', async () => {
    const retired = newSecret();
    const current = newSecret();
    const path = `/receivers/ok/${receiver([retired, current])}`;
    expect((await deliver(path, [current])).status).toBe(200);
    expect(recorded(path)[0]?.signature).toEqual({ verified: true, bySecret: [false, true] });
  });

  it('answers 401 to a delivery signed with another secret, without using up the script', async () => {
    const secret = newSecret();
    const path = `/receivers/fail-503-1/${receiver([secret])}`;

    const refused = await deliver(path, [newSecret()]);
    expect(refused).toEqual({
      status: 401,
      body: {
        ok: false,
        error: { status: 401, code: 'invalid_signature', message: expect.any(String) },
      },
    });
    // The script's one failure is still to come.
    expect((await deliver(path, [secret])).status).toBe(503);
    expect((await deliver(path, [secret])).status).toBe(200);

    expect(recorded(path).map((r) => [r.attempt, r.outcome, r.signature])).toEqual([
      [0, '401', { verified: false, bySecret: [false] }],
      [1, '503', { verified: true, bySecret: [true] }],
      [2, '200', { verified: true, bySecret: [true] }],
    ]);
    // Counted like any request.
    expect(sim.stats({ prefix: path }).byPath[path]).toBe(3);
  });

  it('answers 401 to a delivery signed too long ago', async () => {
    const secret = newSecret();
    const path = `/receivers/ok/${receiver([secret])}`;
    const answer = await deliver(path, [secret], new Date(Date.now() - 10 * 60_000));
    expect(answer.status).toBe(401);
    expect(JSON.stringify(answer.body)).toContain('Message timestamp too old');
  });

  it('fail-503-2 answers 503, 503, then 200', async () => {
    const secret = newSecret();
    const path = `/receivers/fail-503-2/${receiver([secret])}`;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await deliver(path, [secret])).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(recorded(path).map((r) => [r.attempt, r.outcome])).toEqual([
      [1, '503'],
      [2, '503'],
      [3, '200'],
    ]);
  });

  it('always-410 answers 410 every time', async () => {
    const secret = newSecret();
    const path = `/receivers/always-410/${receiver([secret])}`;
    expect((await deliver(path, [secret])).status).toBe(410);
    const again = await deliver(path, [secret]);
    expect(again).toEqual({
      status: 410,
      body: {
        ok: false,
        error: { status: 410, code: 'simulated_failure', message: expect.any(String) },
      },
    });
  });

  it('answers 401 for a receiver with no secrets registered', async () => {
    const path = `/receivers/ok/unregistered-${randomUUID()}`;
    const answer = await deliver(path, [newSecret()]);
    expect(answer.status).toBe(401);
    expect(JSON.stringify(answer.body)).toContain('no secrets registered');
    expect(recorded(path)[0]?.signature).toEqual({ verified: false, bySecret: [] });
  });

  it('registers, shows and forgets secrets through the control API', async () => {
    const name = `team/orders-${randomUUID()}`;
    const control = `/_sim/receivers/${encodeURIComponent(name)}`;
    const secret = newSecret();

    const put = await call(control, { method: 'PUT', body: JSON.stringify({ secrets: [secret] }) });
    expect(put).toEqual({ status: 200, body: { receiver: name, secrets: [secret] } });
    expect(await call(control, { method: 'GET' })).toEqual(put);
    // The name is the rest of the path, slashes included.
    expect((await deliver(`/receivers/ok/${name}`, [secret])).status).toBe(200);

    expect(await call(control, { method: 'DELETE' })).toEqual({
      status: 200,
      body: { ok: true, forgotten: true },
    });
    expect((await call(control, { method: 'GET' })).status).toBe(404);
    expect((await deliver(`/receivers/ok/${name}`, [secret])).status).toBe(401);
  });

  it.each([
    ['body', 'not json'],
    ['secrets', JSON.stringify({ secrets: [] })],
    ['secrets[1]', JSON.stringify({ secrets: [newSecret(), 'sk_live_123'] })],
  ])('answers 400 naming %s to a bad registration', async (field, body) => {
    const answer = await call(`/_sim/receivers/orders-${randomUUID()}`, { method: 'PUT', body });
    expect(answer).toEqual({
      status: 400,
      body: {
        ok: false,
        error: { status: 400, code: 'invalid_registration', field, message: expect.any(String) },
      },
    });
  });

  it('refuses bad secrets given programmatically, naming the field', () => {
    expect(() => sim.registerReceiver('orders', [])).toThrow(/secrets must be/);
    expect(() => sim.registerReceiver('orders', ['plain'])).toThrow(/secrets\[0\]/);
  });

  it('forgets receivers on unregisterReceiver and reset', async () => {
    const secret = newSecret();
    const one = receiver([secret]);
    sim.unregisterReceiver(one);
    expect((await deliver(`/receivers/ok/${one}`, [secret])).status).toBe(401);

    const two = receiver([secret]);
    sim.reset();
    expect((await deliver(`/receivers/ok/${two}`, [secret])).status).toBe(401);
  });

  it('leaves the signature out of other routes’ recordings', async () => {
    const path = `/hooks/ok/${randomUUID()}`;
    expect((await call(path, { body: '{}' })).status).toBe(200);
    expect(recorded(path)[0]).not.toHaveProperty('signature');
  });
});
