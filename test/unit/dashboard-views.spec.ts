import type { ApiEvent, ApiLog, ApiMessage } from '@herald/read-model';
import {
  headerLines,
  humanDuration,
  prettyBody,
  providerCallView,
  queryString,
  timelineWithWaits,
} from '../../apps/dashboard/src/pages/view-models';
import { Views } from '../../apps/dashboard/src/views';

const HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="alert(1)">';

const message: ApiMessage = {
  id: 'msg-"1"',
  tenantId: 'default',
  status: 'delivery_attempted',
  channel: 'webhook',
  provider: 'webhook',
  providers: [],
  recipient: HOSTILE,
  retryPolicy: 'knock',
  metadata: { note: HOSTILE },
  providerMessageId: null,
  attempts: 1,
  maxAttempts: 8,
  statusChecks: 0,
  lastError: { category: 'retryable', code: 'http_503', message: HOSTILE },
  nextAttemptAt: '2026-12-03T12:00:30.000Z',
  requestedAt: '2026-12-03T12:00:00.000Z',
  queuedAt: null,
  firstAttemptAt: null,
  lastAttemptAt: null,
  sentAt: null,
  deliveredAt: null,
  undeliveredAt: null,
  bouncedAt: null,
  notSentAt: null,
  canceledAt: null,
  resends: 0,
  createdAt: '2026-12-03T12:00:00.000Z',
  updatedAt: null,
  actions: { cancel: true, resend: false },
};

const log: ApiLog = {
  id: 'e2',
  messageId: message.id,
  seq: 2,
  type: 'delivery_attempted',
  status: 'delivery_attempted',
  attempt: 1,
  occurredAt: '2026-12-03T12:00:01.000Z',
  provider: 'webhook',
  request: {
    method: 'POST',
    url: 'http://127.0.0.1:4010/hook?x=<b>',
    headers: { 'content-type': 'application/json', authorization: '[REDACTED]' },
    body: '{"text":"hi","n":[1,2]}',
  },
  response: { status: 503, headers: { 'x-evil': HOSTILE }, body: HOSTILE },
  durationMs: 12,
  error: null,
};

describe('the dashboard pages', () => {
  const views = new Views();
  const session = { tenantId: 'default', keyId: 'k', csrfToken: 'csrf"<', token: 't' };

  it('print attacker-controlled text escaped, in text and in attributes alike', () => {
    const html = views.render('message', {
      title: `Message ${message.id}`,
      section: 'messages',
      refreshSeconds: 0,
      session,
      message,
      path: '/messages/msg-%221%22',
      tab: 'logs',
      timeline: [],
      calls: [providerCallView(log)],
      callCount: 1,
      notice: null,
      resendKey: 'k',
    });
    expect(html).not.toContain('<script>window.pwned');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;window.pwned = 1&lt;/script&gt;');
    expect(html).toContain('value="csrf&quot;&lt;"');
    // The only script on any page is the refresh script, from /assets.
    expect(html.match(/<script\b[^>]*>/g) ?? []).toEqual([]);
    expect(html).toContain('id="cancel-form"');
    expect(html).not.toContain('id="resend-form"');
    expect(html).toContain('<pre class="response-body">&lt;script&gt;');
  });

  it('load only the refresh script, from the dashboard itself, on refreshing pages', () => {
    const html = views.render('feed', {
      title: 'Feed',
      section: 'feed',
      refreshSeconds: 5,
      session,
      recipient: 'r',
      page: { items: [], nextCursor: null },
      nextLink: null,
    });
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script src="/assets/refresh.js" defer>']);
    expect(html).toContain('<meta name="herald-refresh" content="5">');
  });
});

describe('what the Logs tab shows of a call', () => {
  it('pretty-prints JSON bodies and leaves the rest as stored', () => {
    expect(prettyBody('{"a":1,"b":[true]}')).toBe('{\n  "a": 1,\n  "b": [\n    true\n  ]\n}');
    expect(prettyBody('{"cut": "by the bounded re')).toBe('{"cut": "by the bounded re');
    expect(prettyBody('plain text')).toBe('plain text');
    expect(prettyBody(null)).toBe('');
  });

  it('cuts a very long body, saying how much is left out', () => {
    const shown = prettyBody('x'.repeat(70_000));
    expect(shown.length).toBeLessThan(70_000);
    expect(shown).toMatch(/… \(4464 more characters\)$/);
  });

  it('names the status, or that no response came', () => {
    expect(providerCallView(log)).toMatchObject({
      method: 'POST',
      responseStatus: '503',
      responseClass: 'failed',
      duration: '12 ms',
      requestBody: '{\n  "text": "hi",\n  "n": [\n    1,\n    2\n  ]\n}',
    });
    expect(providerCallView({ ...log, response: null })).toMatchObject({
      responseStatus: 'no response',
      responseClass: 'none',
      responseHeaders: '',
    });
    expect(headerLines({ a: '1', b: '2' })).toBe('a: 1\nb: 2');
  });
});

describe('the timeline', () => {
  it('shows the wait before each event', () => {
    const at = (occurredAt: string) => ({ occurredAt }) as ApiEvent;
    const waits = timelineWithWaits([
      at('2026-12-03T12:00:00.000Z'),
      at('2026-12-03T12:00:00.250Z'),
      at('2026-12-03T12:00:30.250Z'),
      at('2026-12-03T12:05:31.250Z'),
      at('2026-12-03T14:15:31.250Z'),
    ]).map((e) => e.wait);
    expect(waits).toEqual(['', '250 ms', '30.0 s', '5 min 1 s', '2 h 10 min']);
    expect(humanDuration(-1)).toBe('');
  });

  it('keeps the filters in links, dropping empty ones', () => {
    expect(queryString({ status: 'sent', channel: '', recipient: 'a b&c' })).toBe(
      '?status=sent&recipient=a+b%26c',
    );
    expect(queryString({})).toBe('');
  });
});
