import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@herald/config';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig('sender', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  return [];
};

describe('provider settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-providers-'));

  it('leaves every credentialed provider unconfigured by default', () => {
    const { providers } = loadConfig('sender', {});
    expect(providers).toMatchObject({
      timeoutMs: 10_000,
      webhook: { headers: {}, headerHosts: [] },
      sendgrid: null,
      smtp: null,
      twilio: null,
      slack: null,
      fcm: null,
      apns: null,
    });
  });

  it('reads a provider from the environment, with its documented default base URL', () => {
    const { providers } = loadConfig('sender', {
      HERALD_TWILIO_ACCOUNT_SID: 'AC123',
      HERALD_TWILIO_AUTH_TOKEN: 'tok-secret',
      HERALD_TWILIO_FROM: '+15005550006',
    });
    expect(providers.twilio).toEqual({
      accountSid: 'AC123',
      authToken: 'tok-secret',
      from: '+15005550006',
      baseUrl: 'https://api.twilio.com',
    });
  });

  it('names every missing setting of a provider given in part', () => {
    expect(problemsOf({ HERALD_SLACK_BASE_URL: 'http://127.0.0.1:4010' })).toEqual([
      'HERALD_SLACK_BOT_TOKEN',
    ]);
    expect(problemsOf({ HERALD_SENDGRID_API_KEY: 'SG.x' })).toEqual(['HERALD_SENDGRID_FROM']);
  });

  it('rejects base URLs that are not http(s) and SMTP URLs that are not smtp(s)', () => {
    expect(
      problemsOf({
        HERALD_SLACK_BOT_TOKEN: 'xoxb-1',
        HERALD_SLACK_BASE_URL: 'ftp://x',
        HERALD_SMTP_URL: 'http://mail',
        HERALD_SMTP_FROM: 'a@b.c',
      }),
    ).toEqual(['HERALD_SMTP_URL', 'HERALD_SLACK_BASE_URL']);
  });

  it('reads a YAML providers file; the environment wins field by field', () => {
    const file = join(dir, 'providers.yaml');
    writeFileSync(
      file,
      [
        'sendgrid:',
        '  apiKey: SG.from-file',
        '  from: herald@example.com',
        '  baseUrl: http://127.0.0.1:4010/',
        'slack:',
        '  botToken: xoxb-file',
      ].join('\n'),
    );
    const { providers } = loadConfig('sender', {
      HERALD_PROVIDERS_FILE: file,
      HERALD_SLACK_BOT_TOKEN: 'xoxb-env',
    });
    expect(providers.sendgrid).toEqual({
      apiKey: 'SG.from-file',
      from: 'herald@example.com',
      baseUrl: 'http://127.0.0.1:4010',
    });
    expect(providers.slack).toEqual({ botToken: 'xoxb-env', baseUrl: 'https://slack.com' });
  });

  it('reports an unreadable providers file by its variable', () => {
    expect(problemsOf({ HERALD_PROVIDERS_FILE: join(dir, 'missing.yaml') })).toEqual([
      'HERALD_PROVIDERS_FILE',
    ]);
  });

  it('fills FCM from a service-account JSON and APNs from a key file', () => {
    const account = join(dir, 'service-account.json');
    writeFileSync(
      account,
      JSON.stringify({
        type: 'service_account',
        project_id: 'herald-test',
        client_email: 'sender@herald-test.iam.gserviceaccount.com',
        private_key: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n',
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    const key = join(dir, 'AuthKey_ABC123.p8');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----\n');
    const { providers } = loadConfig('sender', {
      HERALD_FCM_SERVICE_ACCOUNT_FILE: account,
      HERALD_APNS_KEY_FILE: key,
      HERALD_APNS_KEY_ID: 'ABC123',
      HERALD_APNS_TEAM_ID: 'TEAM123',
      HERALD_APNS_TOPIC: 'com.example.app',
    });
    expect(providers.fcm).toMatchObject({
      projectId: 'herald-test',
      clientEmail: 'sender@herald-test.iam.gserviceaccount.com',
      tokenUri: 'https://oauth2.googleapis.com/token',
      baseUrl: 'https://fcm.googleapis.com',
    });
    expect(providers.apns).toMatchObject({
      keyId: 'ABC123',
      privateKey: expect.stringContaining('BEGIN PRIVATE KEY') as unknown,
      baseUrl: 'https://api.push.apple.com',
    });
  });
});
