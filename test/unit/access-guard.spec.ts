import { HttpException, HttpStatus, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal } from '@herald/access';
import { ConfigError, loadCliConfig, loadConfig, type HeraldConfig } from '@herald/config';
import type { Access } from '../../libs/edge/platform/src/access';
import {
  AcceptsRecipientTokens,
  AccessGuard,
  isLoopback,
} from '../../libs/edge/platform/src/access.guard';
import { feedCors } from '../../libs/edge/platform/src/feed-cors';

const KEY = 'hk_sk_' + 'k'.repeat(43);
const OTHER_KEY = 'hk_sk_' + 'o'.repeat(43);
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.255.0.9', '127.0.0.53', '::1', '::ffff:127.0.0.1'])(
    'treats %s as loopback',
    (address) => {
      expect(isLoopback(address)).toBe(true);
    },
  );

  // Peer addresses as strings (and, below, on fake sockets): nothing here opens a connection.
  it.each([
    '10.0.0.1',
    '192.168.1.1',
    '::ffff:10.0.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '::',
    '128.0.0.1',
    '1127.0.0.1',
    '127.0.0.1.nip.io',
    'fe80::1',
    '::ffff:192.168.1.1',
    '',
    undefined,
  ])('does not treat %p as loopback', (address) => {
    expect(isLoopback(address)).toBe(false);
  });
});

describe('loadConfig access settings', () => {
  const goodKey = 'hk_sk_' + 'g'.repeat(43);

  /** The ConfigError loadConfig throws for `env`, failing the test when it does not throw. */
  const configErrorOf = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig('ingest', env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults to no keys, loopback-only ops, a 5 s refresh, no token secret and no CORS', () => {
    expect(loadConfig('ingest', {}).access).toEqual({
      bootstrapKeys: [],
      keyRefreshMs: 5000,
      tokenSecret: undefined,
      feedCorsOrigins: [],
      opsAccess: 'loopback',
    });
  });

  it('reads HERALD_API_KEYS into access.bootstrapKeys', () => {
    const config = loadConfig('ingest', {
      HERALD_API_KEYS: `acme:${goodKey},globex:${OTHER_KEY}`,
    });
    expect(config.access.bootstrapKeys).toEqual([
      { tenantId: 'acme', key: goodKey },
      { tenantId: 'globex', key: OTHER_KEY },
    ]);
  });

  it('refuses a malformed HERALD_API_KEYS entry, naming the variable but not the key', () => {
    const shortKey = 'hk_sk_' + 's'.repeat(42);
    const error = configErrorOf({ HERALD_API_KEYS: `acme:${goodKey},globex:${shortKey}` });
    expect(error.problems.map((p) => p.variable)).toEqual(['HERALD_API_KEYS']);
    expect(error.message).toContain('HERALD_API_KEYS');
    expect(error.message).toContain('entry 2');
    expect(error.message).not.toContain(shortKey);
    expect(error.message).not.toContain(goodKey);
  });

  it('refuses a HERALD_API_KEYS entry without a tenant, not repeating the key', () => {
    const error = configErrorOf({ HERALD_API_KEYS: goodKey });
    expect(error.message).toContain('HERALD_API_KEYS');
    expect(error.message).not.toContain(goodKey);
  });

  // Written key-first, `hk_sk_…:acme` splits into "tenant" hk_sk_… and key acme: the problem
  // must not quote the entry, since the ConfigError goes to stderr at start.
  it('does not repeat the key of a HERALD_API_KEYS entry written key-first', () => {
    const error = configErrorOf({ HERALD_API_KEYS: `${goodKey}:acme` });
    expect(error.message).toContain('HERALD_API_KEYS');
    expect(error.message).not.toContain(goodKey);
  });

  it('reads HERALD_FEED_CORS_ORIGINS as a list of origins', () => {
    const config = loadConfig('projector', {
      HERALD_FEED_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
    });
    expect(config.access.feedCorsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it('reads HERALD_FEED_CORS_ORIGINS=* as any origin', () => {
    expect(
      loadConfig('projector', { HERALD_FEED_CORS_ORIGINS: '*' }).access.feedCorsOrigins,
    ).toEqual(['*']);
  });

  it('ignores empty items of HERALD_FEED_CORS_ORIGINS', () => {
    expect(
      loadConfig('projector', { HERALD_FEED_CORS_ORIGINS: ' , https://a.example,' }).access
        .feedCorsOrigins,
    ).toEqual(['https://a.example']);
  });

  it.each([
    ['a bare host', 'app.example.com'],
    ['an origin with a path', 'https://app.example.com/feed'],
    ['an origin with a trailing slash', 'https://app.example.com/'],
    ['another scheme', 'ftp://app.example.com'],
  ])('refuses %s in HERALD_FEED_CORS_ORIGINS, naming the variable', (_case, origin) => {
    const error = configErrorOf({ HERALD_FEED_CORS_ORIGINS: `https://ok.example,${origin}` });
    expect(error.problems).toEqual([
      { variable: 'HERALD_FEED_CORS_ORIGINS', problem: expect.stringContaining(origin) },
    ]);
  });

  it.each(['100', '10000'])('accepts HERALD_KEY_REFRESH_MS=%s', (value) => {
    expect(loadConfig('ingest', { HERALD_KEY_REFRESH_MS: value }).access.keyRefreshMs).toBe(
      Number(value),
    );
  });

  it.each(['10001', '99', '2.5', 'soon'])('refuses HERALD_KEY_REFRESH_MS=%s', (value) => {
    const error = configErrorOf({ HERALD_KEY_REFRESH_MS: value });
    expect(error.problems.map((p) => p.variable)).toEqual(['HERALD_KEY_REFRESH_MS']);
  });

  it('accepts a HERALD_TOKEN_SECRET of 32 characters', () => {
    const secret = 's'.repeat(32);
    expect(loadConfig('ingest', { HERALD_TOKEN_SECRET: secret }).access.tokenSecret).toBe(secret);
  });

  it('refuses a HERALD_TOKEN_SECRET shorter than 32 characters, without printing it', () => {
    const secret = 'short-secret-31-characters-long';
    expect(secret).toHaveLength(31);
    const error = configErrorOf({ HERALD_TOKEN_SECRET: secret });
    expect(error.problems).toEqual([
      { variable: 'HERALD_TOKEN_SECRET', problem: 'must be at least 32 characters' },
    ]);
    expect(error.message).not.toContain(secret);
  });

  it('reads HERALD_OPS_ACCESS=anywhere and refuses other values', () => {
    expect(loadConfig('ingest', { HERALD_OPS_ACCESS: 'anywhere' }).access.opsAccess).toBe(
      'anywhere',
    );
    expect(configErrorOf({ HERALD_OPS_ACCESS: 'everyone' }).problems[0]!.variable).toBe(
      'HERALD_OPS_ACCESS',
    );
  });
});

describe('loadCliConfig', () => {
  it('defaults to the local MongoDB, also when MONGODB_URI is empty', () => {
    expect(loadCliConfig({})).toEqual({ mongodbUri: 'mongodb://localhost:27017/herald' });
    expect(loadCliConfig({ MONGODB_URI: '' })).toEqual({
      mongodbUri: 'mongodb://localhost:27017/herald',
    });
  });

  it('reads MONGODB_URI and nothing else', () => {
    expect(
      loadCliConfig({ MONGODB_URI: 'mongodb://db:27017/x', KAFKA_BROKERS: 'not a broker list' }),
    ).toEqual({ mongodbUri: 'mongodb://db:27017/x' });
  });

  it('refuses a MONGODB_URI that is not a MongoDB URI, naming it', () => {
    expect(() => loadCliConfig({ MONGODB_URI: 'postgres://db/x' })).toThrow(ConfigError);
    expect(() => loadCliConfig({ MONGODB_URI: 'postgres://db/x' })).toThrow(/MONGODB_URI/);
  });
});

/** The handlers the guard reads metadata from: one accepts recipient tokens. */
class Handlers {
  @AcceptsRecipientTokens()
  feed(): void {}

  send(): void {}
}

interface FakeRequest {
  path: string;
  headers: { authorization?: string | string[] };
  socket: { remoteAddress: string | undefined };
  principal?: Principal;
}

class FakeResponse {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }
}

/** An Access whose key check and token check answer from these maps, counting calls. */
class FakeAccess {
  readonly authenticated: string[] = [];
  readonly verified: string[] = [];
  constructor(
    private readonly keys: Record<string, Principal> = {},
    private readonly tokens: Record<string, Principal> = {},
  ) {}

  readonly apiKeys = {
    authenticate: async (key: string): Promise<Principal | null> => {
      this.authenticated.push(key);
      return this.keys[key] ?? null;
    },
  };

  async verifyRecipientToken(token: string): Promise<Principal | null> {
    this.verified.push(token);
    return this.tokens[token] ?? null;
  }

  asAccess(): Access {
    return this as unknown as Access;
  }
}

const keyPrincipal: Principal = { kind: 'secret_key', tenantId: 'acme', keyId: 'key_1' };
const tokenPrincipal: Principal = { kind: 'recipient_token', tenantId: 'acme', recipient: 'u-1' };

describe('AccessGuard', () => {
  let access: FakeAccess;

  beforeEach(() => {
    access = new FakeAccess({ [KEY]: keyPrincipal }, { [TOKEN]: tokenPrincipal });
  });

  const guard = (config: HeraldConfig = loadConfig('projector', {})): AccessGuard =>
    new AccessGuard(access.asAccess(), config, new Reflector());

  const call = (
    request: Partial<FakeRequest> & { path: string },
    handler: keyof Handlers = 'send',
    type = 'http',
  ) => {
    const req: FakeRequest = {
      headers: {},
      socket: { remoteAddress: '203.0.113.7' },
      ...request,
    };
    const res = new FakeResponse();
    const context = {
      getType: () => type,
      getHandler: () => Handlers.prototype[handler],
      getClass: () => Handlers,
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
    } as unknown as ExecutionContext;
    return { context, req, res };
  };

  /** The HttpException `promise` rejects with, failing the test when it resolves. */
  const refusal = async (promise: Promise<boolean>): Promise<HttpException> => {
    const error = await promise.then(
      () => {
        throw new Error('expected the guard to refuse');
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HttpException);
    return error as HttpException;
  };

  it.each(['/health/live', '/health/ready', '/HEALTH/live/'])(
    'lets %s through without a credential',
    async (path) => {
      const { context } = call({ path });
      await expect(guard().canActivate(context)).resolves.toBe(true);
      expect(access.authenticated).toEqual([]);
    },
  );

  // Secure by default: any route outside the open ones needs a key, /v1 or not.
  it.each(['/', '/v1x', '/v10/messages', '/webhooks', '//v1//messages'])(
    'answers 401 for %s without a credential',
    async (path) => {
      const { context } = call({ path });
      const error = await refusal(guard().canActivate(context));
      expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    },
  );

  it('lets non-HTTP contexts through', async () => {
    const { context } = call({ path: '/v1/messages' }, 'send', 'rpc');
    await expect(guard().canActivate(context)).resolves.toBe(true);
  });

  it.each(['/v1/messages', '/v1'])(
    'answers 401 with a WWW-Authenticate header for %s without a credential',
    async (path) => {
      const { context, res } = call({ path });

      const error = await refusal(guard().canActivate(context));

      expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
      expect(error.getResponse()).toEqual({
        error: 'unauthorized',
        message: expect.stringContaining('Authorization: Bearer'),
      });
      expect(res.headers['WWW-Authenticate']).toBe('Bearer');
    },
  );

  it('answers 401 for another scheme, as if no credential were sent', async () => {
    const { context } = call({ path: '/v1/messages', headers: { authorization: 'Basic eDp5' } });
    const error = await refusal(guard().canActivate(context));
    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    expect(access.authenticated).toEqual([]);
  });

  it('answers 401 for an unknown key, saying it is not valid', async () => {
    const { context, res, req } = call({
      path: '/v1/messages',
      headers: { authorization: `Bearer ${OTHER_KEY}` },
    });

    const error = await refusal(guard().canActivate(context));

    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    expect(error.getResponse()).toEqual({
      error: 'unauthorized',
      message: expect.stringContaining('not valid'),
    });
    expect(res.headers['WWW-Authenticate']).toBe('Bearer');
    expect(access.authenticated).toEqual([OTHER_KEY]);
    expect(req.principal).toBeUndefined();
  });

  it("lets a valid key through and puts the key's principal on the request", async () => {
    const { context, req } = call({
      path: '/v1/messages',
      headers: { authorization: `bearer ${KEY}` },
    });

    await expect(guard().canActivate(context)).resolves.toBe(true);

    expect(req.principal).toEqual(keyPrincipal);
    expect(access.authenticated).toEqual([KEY]);
  });

  it('refuses a recipient token on a handler that does not accept them, without checking it', async () => {
    const { context } = call({
      path: '/v1/messages',
      headers: { authorization: `Bearer ${TOKEN}` },
    });

    const error = await refusal(guard().canActivate(context));

    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    expect(access.verified).toEqual([]);
  });

  it('accepts a recipient token on a handler marked AcceptsRecipientTokens', async () => {
    const { context, req } = call(
      { path: '/v1/recipients/u-1/feed', headers: { authorization: `Bearer ${TOKEN}` } },
      'feed',
    );

    await expect(guard().canActivate(context)).resolves.toBe(true);

    expect(req.principal).toEqual(tokenPrincipal);
    expect(access.verified).toEqual([TOKEN]);
    expect(access.authenticated).toEqual([]);
  });

  it('checks a secret key as a key on a handler that also accepts tokens', async () => {
    const { context, req } = call(
      { path: '/v1/recipients/u-1/feed', headers: { authorization: `Bearer ${KEY}` } },
      'feed',
    );

    await expect(guard().canActivate(context)).resolves.toBe(true);

    expect(req.principal).toEqual(keyPrincipal);
    expect(access.verified).toEqual([]);
  });

  it('answers 401 for a recipient token that does not check out', async () => {
    const { context } = call(
      { path: '/v1/recipients/u-1/feed', headers: { authorization: 'Bearer not.a.token' } },
      'feed',
    );
    const error = await refusal(guard().canActivate(context));
    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
  });

  it.each(['/metrics', '/docs'])('answers 403 for %s from a non-loopback caller', async (path) => {
    const { context } = call({ path, socket: { remoteAddress: '10.0.0.1' } });

    const error = await refusal(guard().canActivate(context));

    expect(error.getStatus()).toBe(HttpStatus.FORBIDDEN);
    expect(error.getResponse()).toEqual({
      error: 'forbidden',
      message: expect.stringContaining('HERALD_OPS_ACCESS=anywhere'),
    });
  });

  it('answers 403 for /metrics when the socket reports no address', async () => {
    const { context } = call({ path: '/metrics', socket: { remoteAddress: undefined } });
    const error = await refusal(guard().canActivate(context));
    expect(error.getStatus()).toBe(HttpStatus.FORBIDDEN);
  });

  it.each(['127.0.0.1', '::1', '::ffff:127.0.0.1'])(
    'serves /metrics and /docs to the loopback caller %s',
    async (remoteAddress) => {
      for (const path of ['/metrics', '/docs']) {
        const { context } = call({ path, socket: { remoteAddress } });
        await expect(guard().canActivate(context)).resolves.toBe(true);
      }
    },
  );

  it('serves /metrics and /docs to anyone with HERALD_OPS_ACCESS=anywhere', async () => {
    const anywhere = guard(loadConfig('projector', { HERALD_OPS_ACCESS: 'anywhere' }));
    for (const path of ['/metrics', '/docs']) {
      const { context } = call({ path, socket: { remoteAddress: '10.0.0.1' } });
      await expect(anywhere.canActivate(context)).resolves.toBe(true);
    }
  });

  // Express routes case-insensitively and ignores a trailing slash, so /METRICS/ reaches the
  // metrics: the guard must recognise the open paths in every spelling the router accepts.
  it.each(['/metrics/', '/METRICS', '/Metrics/', '/docs/', '/DOCS'])(
    'answers 403 for %s (the same route to Express) from a non-loopback caller',
    async (path) => {
      const { context } = call({ path, socket: { remoteAddress: '10.0.0.1' } });
      const error = await refusal(guard().canActivate(context));
      expect(error.getStatus()).toBe(HttpStatus.FORBIDDEN);
    },
  );

  it.each(['/V1/messages', '/V1'])(
    'answers 401 for %s (the same route to Express) without a credential',
    async (path) => {
      const { context } = call({ path });
      const error = await refusal(guard().canActivate(context));
      expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    },
  );
});

describe('feedCors', () => {
  interface CorsRun {
    nextCalled: boolean;
    headers: Record<string, string>;
    statusCode: number;
    ended: boolean;
  }

  /** Runs the middleware on a hand-made request; no socket is involved. */
  const through = (
    origins: string[],
    request: { method: string; path: string; origin?: string; preflight?: boolean },
  ): CorsRun => {
    const middleware = feedCors(origins);
    if (!middleware) throw new Error('expected a middleware');
    const result: CorsRun = { nextCalled: false, headers: {}, statusCode: 200, ended: false };
    const headers: Record<string, string> = {};
    if (request.origin) headers.origin = request.origin;
    if (request.preflight) headers['access-control-request-method'] = 'GET';
    const req = { method: request.method, path: request.path, url: request.path, headers };
    const res = {
      get statusCode() {
        return result.statusCode;
      },
      set statusCode(value: number) {
        result.statusCode = value;
      },
      setHeader: (name: string, value: string) => {
        result.headers[name.toLowerCase()] = String(value);
      },
      getHeader: (name: string) => result.headers[name.toLowerCase()],
      end: () => {
        result.ended = true;
      },
    };
    middleware(req as never, res as never, () => {
      result.nextCalled = true;
    });
    return result;
  };

  it('is off (no middleware at all) when no origin is configured', () => {
    expect(feedCors([])).toBeNull();
  });

  it('allows a listed origin to GET the in-app feed', () => {
    const run = through(['https://app.example.com'], {
      method: 'GET',
      path: '/v1/recipients/u-1/feed',
      origin: 'https://app.example.com',
    });
    expect(run.nextCalled).toBe(true);
    expect(run.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('gives an unlisted origin no allow-origin header', () => {
    const run = through(['https://app.example.com'], {
      method: 'GET',
      path: '/v1/recipients/u-1/feed',
      origin: 'https://evil.example',
    });
    expect(run.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers the feed preflight itself, allowing GET and the Authorization header', () => {
    const run = through(['*'], {
      method: 'OPTIONS',
      path: '/v1/recipients/u-1/feed',
      origin: 'https://any.example',
      preflight: true,
    });
    expect(run.nextCalled).toBe(false);
    expect(run.ended).toBe(true);
    expect(run.statusCode).toBe(204);
    expect(run.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET',
      'access-control-allow-headers': 'Authorization',
      'access-control-max-age': '600',
    });
  });

  it.each(['/v1/messages', '/v1/recipients/u-1/tokens', '/v1/recipients/u-1/feed/x', '/metrics'])(
    'sets no CORS header on %s, even for an allowed origin',
    (path) => {
      const run = through(['*'], { method: 'OPTIONS', path, origin: 'https://any.example' });
      expect(run.nextCalled).toBe(true);
      expect(run.headers).toEqual({});
    },
  );
});
