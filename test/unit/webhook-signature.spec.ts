import { newSigningSecret, signatureOf, webhookHeaders } from '@herald/providers';
import { Webhook } from 'standardwebhooks';

// The example the Standard Webhooks specification publishes (spec/standard-webhooks.md).
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const BODY = JSON.stringify({ type: 'message.sent', timestamp: null, data: { id: 'm-1' } });

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('signatureOf', () => {
  it("reproduces the Standard Webhooks specification's example", () => {
    expect(signatureOf(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(SPEC.signature);
  });

  it('takes the secret with or without its whsec_ prefix', () => {
    const bare = SPEC.secret.slice('whsec_'.length);
    expect(signatureOf(bare, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(SPEC.signature);
  });

  it('changes with the id, the timestamp and the body', () => {
    const signatures = new Set([
      signatureOf(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.payload),
      signatureOf(SPEC.secret, 'msg_other', SPEC.timestamp, SPEC.payload),
      signatureOf(SPEC.secret, SPEC.id, SPEC.timestamp + 1, SPEC.payload),
      signatureOf(SPEC.secret, SPEC.id, SPEC.timestamp, `${SPEC.payload} `),
    ]);
    expect(signatures.size).toBe(4);
  });
});

describe('webhookHeaders', () => {
  it('gives webhook-id, webhook-timestamp and one signature per secret, space-separated', () => {
    const other = newSigningSecret();

    const headers = webhookHeaders([SPEC.secret, other], SPEC.id, SPEC.timestamp, SPEC.payload);

    expect(Object.keys(headers).sort()).toEqual([
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    expect(headers['webhook-id']).toBe(SPEC.id);
    expect(headers['webhook-timestamp']).toBe('1614265330');
    const signatures = headers['webhook-signature']?.split(' ');
    expect(signatures).toEqual([
      SPEC.signature,
      signatureOf(other, SPEC.id, SPEC.timestamp, SPEC.payload),
    ]);
    expect(signatures?.[1]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  describe('verified by the standardwebhooks package', () => {
    it('verifies headers made with a fresh secret at the current time', () => {
      const secret = newSigningSecret();
      const headers = webhookHeaders([secret], 'msg_d1', nowSeconds(), BODY);

      expect(new Webhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    });

    it('verifies with either secret of a rotation', () => {
      const current = newSigningSecret();
      const previous = newSigningSecret();
      const headers = webhookHeaders([current, previous], 'msg_d1', nowSeconds(), BODY);

      expect(new Webhook(current).verify(BODY, headers)).toEqual(JSON.parse(BODY));
      expect(new Webhook(previous).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    });

    it('refuses a tampered body', () => {
      const secret = newSigningSecret();
      const headers = webhookHeaders([secret], 'msg_d1', nowSeconds(), BODY);

      expect(() => new Webhook(secret).verify(BODY.replace('m-1', 'm-2'), headers)).toThrow(
        'No matching signature found',
      );
    });

    it('refuses a wrong secret', () => {
      const headers = webhookHeaders([newSigningSecret()], 'msg_d1', nowSeconds(), BODY);

      expect(() => new Webhook(newSigningSecret()).verify(BODY, headers)).toThrow(
        'No matching signature found',
      );
    });

    it('signs as the package signs', () => {
      const secret = newSigningSecret();
      const timestamp = nowSeconds();
      expect(signatureOf(secret, 'msg_d1', timestamp, BODY)).toBe(
        new Webhook(secret).sign('msg_d1', new Date(timestamp * 1000), BODY),
      );
    });
  });
});

describe('newSigningSecret', () => {
  it('is whsec_ + base64 of 32 random bytes', () => {
    const secret = newSigningSecret();

    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(bytes).toHaveLength(32);
    expect(bytes.toString('base64')).toBe(secret.slice('whsec_'.length));
  });

  it('is new each time', () => {
    expect(newSigningSecret()).not.toBe(newSigningSecret());
  });
});
