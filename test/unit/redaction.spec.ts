import { type ProviderExchange } from '@herald/messages';
import {
  BODY_LIMIT_BYTES,
  REDACTED,
  redactBody,
  redactExchange,
  redactHeaders,
  redactKnownSecrets,
  redactUrl,
  truncateUtf8,
} from '@herald/redaction';

describe('redactHeaders', () => {
  it.each([
    ['Authorization', 'Bearer abc.def.ghi', `Bearer ${REDACTED}`],
    ['authorization', 'Basic dXNlcjpwYXNz', `Basic ${REDACTED}`],
    ['Proxy-Authorization', 'Digest username="u", response="r"', `Digest ${REDACTED}`],
    ['Authorization', 'key=AAAAsecret', REDACTED],
    ['Authorization', 'sk_live_only', REDACTED],
    ['Cookie', 'sid=abc; theme=dark', REDACTED],
    ['Set-Cookie', 'sid=abc; HttpOnly', REDACTED],
    ['X-API-Key', 'k-123', REDACTED],
    ['api-key', 'k-123', REDACTED],
    ['apikey', 'k-123', REDACTED],
    ['X-Auth-Token', 't-123', REDACTED],
    ['X-Goog-Api-Key', 'g-123', REDACTED],
    ['X-Amz-Security-Token', 'sts', REDACTED],
    ['X-Client-Secret', 's', REDACTED],
    ['X-Twilio-Signature', 'sig', REDACTED],
    ['X-Session-Id', 'sess', REDACTED],
    ['X-Private-Thing', 'p', REDACTED],
    ['X-Credentials', 'c', REDACTED],
    ['X-DB-Password', 'p', REDACTED],
    ['Content-Type', 'application/json', 'application/json'],
    ['Idempotency-Key', 'msg-1', 'msg-1'],
    ['User-Agent', 'herald/0.1', 'herald/0.1'],
  ])('%s: %s', (name, value, expected) => {
    expect(redactHeaders({ [name]: value })).toEqual({ [name.toLowerCase()]: expected });
  });

  it('lower-cases names, joins arrays and numbers, drops undefined', () => {
    expect(
      redactHeaders({
        'X-Trace': ['a', 'b'],
        'Content-Length': 42,
        'Set-Cookie': ['a=1', 'b=2'],
        'X-Missing': undefined,
      }),
    ).toEqual({ 'x-trace': 'a, b', 'content-length': '42', 'set-cookie': REDACTED });
  });

  it('merges names differing only in case', () => {
    expect(redactHeaders({ 'X-Tag': 'a', 'x-tag': 'b' })).toEqual({ 'x-tag': 'a, b' });
  });

  it('redacts credentials inside URL-valued headers', () => {
    expect(redactHeaders({ Location: 'https://x.test/cb?token=abc&x=1' })).toEqual({
      location: `https://x.test/cb?token=${REDACTED}&x=1`,
    });
  });
});

describe('redactUrl', () => {
  it.each([
    ['no credentials', 'https://api.test/v1/send?to=a%40b.c&x=1#top', null],
    [
      'a token',
      'https://api.test/v1?token=abc&to=me',
      `https://api.test/v1?token=${REDACTED}&to=me`,
    ],
    [
      'access_token and client_secret',
      'https://api.test/?access_token=a&client_secret=b&scope=x',
      `https://api.test/?access_token=${REDACTED}&client_secret=${REDACTED}&scope=x`,
    ],
    [
      'names containing key/signature',
      'https://s3.test/o?X-Amz-Signature=abc&X-Amz-Credential=c&publicKey=k&n=1',
      `https://s3.test/o?X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}&publicKey=${REDACTED}&n=1`,
    ],
    [
      'short names',
      'https://h.test/?sig=1&pwd=2&pass=3&auth=4&code=5&key=6&session=7',
      `https://h.test/?sig=${REDACTED}&pwd=${REDACTED}&pass=${REDACTED}&auth=${REDACTED}&code=${REDACTED}&key=${REDACTED}&session=${REDACTED}`,
    ],
    [
      'a repeated parameter',
      'https://h.test/?token=a&token=b&x=1',
      `https://h.test/?token=${REDACTED}&token=${REDACTED}&x=1`,
    ],
    [
      'a percent-encoded name and value',
      'https://h.test/?api%5Fkey=a%2Fb%3D&to=a%40b.c',
      `https://h.test/?api%5Fkey=${REDACTED}&to=a%40b.c`,
    ],
    ['upper-case names', 'https://h.test/?API_KEY=zzz', `https://h.test/?API_KEY=${REDACTED}`],
    [
      'user and password',
      'https://user:p%40ss@h.test:8443/p?q=1',
      `https://${REDACTED}:${REDACTED}@h.test:8443/p?q=1`,
    ],
    ['a username alone', 'https://tok123@h.test/', `https://${REDACTED}@h.test/`],
    [
      'an unencoded @ in the password',
      'https://u:p@ss@h.test/',
      `https://${REDACTED}:${REDACTED}@h.test/`,
    ],
    ['an @ in the path only', 'https://h.test/users/@me?x=1', null],
    [
      'a token in the fragment',
      'https://app.test/cb#access_token=abc&state=s',
      `https://app.test/cb#access_token=${REDACTED}&state=s`,
    ],
    ['a plain fragment', 'https://app.test/docs?x=1#token', null],
    ['an empty sensitive value', 'https://h.test/?token=&x=1', null],
    [
      'an unparseable URL',
      'not a url?password=hunter22&a=b c',
      `not a url?password=${REDACTED}&a=b c`,
    ],
    [
      'a scheme-relative URL',
      '//u:p@h.test/?secret=s',
      `//${REDACTED}:${REDACTED}@h.test/?secret=${REDACTED}`,
    ],
  ])('%s', (_label, url, expected) => {
    expect(redactUrl(url)).toBe(expected ?? url);
  });

  it('does not re-encode what it keeps', () => {
    const url = 'https://h.test/a%20b/ü?q=%E2%9C%93&list=a,b&flag&token=t';
    expect(redactUrl(url)).toBe(
      `https://h.test/a%20b/ü?q=%E2%9C%93&list=a,b&flag&token=${REDACTED}`,
    );
  });
});

describe('redactBody', () => {
  it('redacts nested JSON keys and keeps harmless ones', () => {
    const body = JSON.stringify({
      to: 'a@b.c',
      password: 'p1',
      auth: { apiKey: 'k1', user: 'bob' },
      list: [{ client_secret: 's1' }, { access_token: 't1', refresh_token: 't2' }],
      private_key: '-----BEGIN',
      credentials: { user: 'u', pass: 'p' },
      webhook_secret: 's2',
      'X-Api-Key': 'k2',
      usage: { tokens_used: 42, max_tokens: 100 },
      password_expired: false,
      token: null,
      callback: 'https://cb.test/hook?sig=abc',
      content: { subject: 'Hi', body: 'Your order shipped' },
    });
    const redacted = JSON.parse(redactBody(body, 'application/json; charset=utf-8') ?? 'null');
    expect(redacted).toEqual({
      to: 'a@b.c',
      password: REDACTED,
      auth: REDACTED,
      list: [{ client_secret: REDACTED }, { access_token: REDACTED, refresh_token: REDACTED }],
      private_key: REDACTED,
      credentials: REDACTED,
      webhook_secret: REDACTED,
      'X-Api-Key': REDACTED,
      usage: { tokens_used: 42, max_tokens: 100 },
      password_expired: false,
      token: null,
      callback: `https://cb.test/hook?sig=${REDACTED}`,
      content: { subject: 'Hi', body: 'Your order shipped' },
    });
  });

  it('recognises JSON without a content type and keeps a clean body byte-for-byte', () => {
    const body = '{ "to": "a@b.c",\n  "n": 1.50 }';
    expect(redactBody(body)).toBe(body);
    expect(redactBody('[{"secret":"s"}]', 'text/plain')).toBe(`[{"secret":"${REDACTED}"}]`);
  });

  it('redacts a form body like a query string', () => {
    expect(
      redactBody(
        'To=%2B15550001&Body=hi+there&Password=p&api_key=k',
        'application/x-www-form-urlencoded',
      ),
    ).toBe(`To=%2B15550001&Body=hi+there&Password=${REDACTED}&api_key=${REDACTED}`);
    expect(redactBody('client_id=c&client_secret=s')).toBe(`client_id=c&client_secret=${REDACTED}`);
  });

  it('keeps other and unparseable bodies', () => {
    expect(redactBody('<p>token=abc</p>', 'text/html')).toBe('<p>token=abc</p>');
    expect(redactBody('{"password": broken', 'application/json')).toBe('{"password": broken');
    expect(redactBody(null, 'application/json')).toBeNull();
  });

  it('truncates at the body limit after redaction', () => {
    const body = JSON.stringify({ secret: 's', text: 'x'.repeat(20_000) });
    const redacted = redactBody(body, 'application/json') ?? '';
    expect(BODY_LIMIT_BYTES).toBe(8192);
    expect(redacted.startsWith(`{"secret":"${REDACTED}","text":"xxx`)).toBe(true);
    expect(redacted).toMatch(/…\[truncated, \d+ bytes total\]$/);
    expect(Buffer.byteLength(redacted.replace(/…\[truncated.*$/, ''))).toBe(BODY_LIMIT_BYTES);
  });
});

describe('truncateUtf8', () => {
  it('keeps text within the limit', () => {
    expect(truncateUtf8('héllo', 6)).toEqual({ text: 'héllo', truncated: false, originalBytes: 6 });
  });

  it.each([
    // "€" is 3 bytes: a limit inside it keeps only what precedes it.
    ['ab€cd', 3, 'ab'],
    ['ab€cd', 4, 'ab'],
    ['ab€cd', 5, 'ab€'],
    // "😀" is 4 bytes (a surrogate pair in JavaScript).
    ['a😀b', 2, 'a'],
    ['a😀b', 4, 'a'],
    ['a😀b', 5, 'a😀'],
    ['€€', 0, ''],
  ])('never splits a character: %s at %i bytes', (text, limit, kept) => {
    const result = truncateUtf8(text, limit);
    const total = Buffer.byteLength(text);
    expect(result).toEqual({
      text: `${kept}…[truncated, ${total} bytes total]`,
      truncated: true,
      originalBytes: total,
    });
    expect(result.text).not.toContain('\uFFFD');
  });
});

describe('redactKnownSecrets', () => {
  it('replaces every occurrence, also percent-encoded and JSON-escaped', () => {
    const secret = 'sk/live"42 x';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${JSON.stringify(secret)} ${secret}`;
    const result = redactKnownSecrets(text, [secret]);
    expect(result).toBe(`a ${REDACTED} b ${REDACTED} c "${REDACTED}" ${REDACTED}`);
  });

  it('ignores secrets shorter than four characters and prefers the longest match', () => {
    expect(redactKnownSecrets('abc abcdef', ['abc', 'abcd', 'abcdef'])).toBe(`abc ${REDACTED}`);
  });
});

describe('redactExchange', () => {
  const secret = 'SG.very-secret-key-42';

  const exchange: ProviderExchange = {
    request: {
      method: 'POST',
      url: `https://api.provider.test/v3/mail/send?key=${secret}&region=eu`,
      headers: {
        Authorization: `Bearer ${secret}`,
        'X-Forwarded-For': `proxy-${secret}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'msg-1',
      },
      body: JSON.stringify({ to: 'a@b.c', subject: `echo ${secret}`, api_key: secret }),
    },
    response: {
      status: 401,
      headers: { 'content-type': 'text/plain', 'x-request-id': 'r1' },
      body: `invalid key ${secret}`,
    },
    durationMs: 12,
  };

  it('leaves the secret nowhere', () => {
    const result = redactExchange(exchange, [secret]);
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(JSON.stringify(result)).not.toContain('very-secret');
  });

  it('keeps everything else readable', () => {
    expect(redactExchange(exchange, [secret])).toEqual({
      request: {
        method: 'POST',
        url: `https://api.provider.test/v3/mail/send?key=${REDACTED}&region=eu`,
        headers: {
          authorization: `Bearer ${REDACTED}`,
          'x-forwarded-for': `proxy-${REDACTED}`,
          'content-type': 'application/json',
          'idempotency-key': 'msg-1',
        },
        body: JSON.stringify({ to: 'a@b.c', subject: `echo ${REDACTED}`, api_key: REDACTED }),
      },
      response: {
        status: 401,
        headers: { 'content-type': 'text/plain', 'x-request-id': 'r1' },
        body: `invalid key ${REDACTED}`,
      },
      durationMs: 12,
    });
  });

  it('removes known secrets before truncating, so no half secret survives the cut', () => {
    const body = `${'x'.repeat(BODY_LIMIT_BYTES - 5)}${secret}`;
    const result = redactExchange({ ...exchange, response: { status: 500, headers: {}, body } }, [
      secret,
    ]);
    expect(result.response?.body).not.toContain(secret.slice(0, 5));
    expect(result.response?.body).toMatch(/…\[truncated, \d+ bytes total\]$/);
  });

  it('handles a call that got no response', () => {
    expect(redactExchange({ ...exchange, response: null }, []).response).toBeNull();
  });
});
