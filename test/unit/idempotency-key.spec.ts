import { classifyTransportError } from '@herald/error-classification';
import { idempotencyKey } from '@herald/providers';

describe('the Idempotency-Key a provider call carries', () => {
  it('is the messageId itself when it is visible ASCII', () => {
    expect(idempotencyKey('order-42_a.b~c')).toBe('order-42_a.b~c');
  });

  it('is percent-encoded UTF-8 when the id holds anything a header value cannot', () => {
    // Found by the fuzz: accepted with 202, then every send failed building its headers.
    expect(idempotencyKey('fuzz-110Ω')).toBe('fuzz-110%CE%A9');
    expect(idempotencyKey('日本')).toBe('%E6%97%A5%E6%9C%AC');
    expect(idempotencyKey('a b')).toBe('a%20b');
    expect(idempotencyKey('\u{1F600}')).toBe('%F0%9F%98%80');
    // Stable: every retry of a message carries the same key.
    expect(idempotencyKey('fuzz-110Ω')).toBe(idempotencyKey('fuzz-110Ω'));
  });

  it('classifies the HTTP client refusing to build a request as non_retryable', () => {
    const refused = Object.assign(new TypeError('invalid idempotency-key header'), {
      code: 'UND_ERR_INVALID_ARG',
    });
    expect(classifyTransportError(refused)).toEqual({
      category: 'non_retryable',
      code: 'UND_ERR_INVALID_ARG',
      message: 'invalid idempotency-key header',
    });
  });
});
