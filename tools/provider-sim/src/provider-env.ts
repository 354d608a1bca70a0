import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The environment that points every Herald provider at this simulator, with throwaway
 * credentials: fresh random secrets, an RSA key in a Google-style service-account file for
 * FCM and an EC P-256 .p8 key for APNs, written under `dir`. The tests and the demo both use it,
 * so they configure providers exactly as a user would (HERALD_* variables and key files).
 */
export function simulatorProviderEnv(
  urls: { http: string; apns: string; smtp: string },
  dir: string,
): { env: Record<string, string>; secrets: string[] } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
  const sendgridKey = secret('SG.sim-');
  const twilioToken = secret('twilio-sim-');
  const slackToken = secret('xoxb-sim-');
  const smtpPassword = secret('smtp-sim-');

  const fcmKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const serviceAccount = join(dir, 'fcm-service-account.json');
  writeFileSync(
    serviceAccount,
    JSON.stringify({
      type: 'service_account',
      project_id: 'herald-sim',
      client_email: 'herald@herald-sim.iam.gserviceaccount.com',
      private_key: fcmKey,
      token_uri: `${urls.http}/token`,
    }),
    { mode: 0o600 },
  );
  const apnsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const apnsKeyFile = join(dir, 'AuthKey_SIM0000001.p8');
  writeFileSync(apnsKeyFile, apnsKey, { mode: 0o600 });

  const smtp = new URL(urls.smtp);
  smtp.username = 'herald-sim-user';
  smtp.password = smtpPassword;
  return {
    env: {
      // The simulator listens on loopback, which the network guard refuses unless allowed.
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_SENDGRID_API_KEY: sendgridKey,
      HERALD_SENDGRID_FROM: 'herald@sim.test',
      HERALD_SENDGRID_BASE_URL: urls.http,
      HERALD_SMTP_URL: smtp.toString(),
      HERALD_SMTP_FROM: 'herald@sim.test',
      HERALD_TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000sim',
      HERALD_TWILIO_AUTH_TOKEN: twilioToken,
      HERALD_TWILIO_FROM: '+15005550006',
      HERALD_TWILIO_BASE_URL: urls.http,
      HERALD_SLACK_BOT_TOKEN: slackToken,
      HERALD_SLACK_BASE_URL: urls.http,
      HERALD_FCM_SERVICE_ACCOUNT_FILE: serviceAccount,
      HERALD_FCM_BASE_URL: urls.http,
      HERALD_APNS_KEY_FILE: apnsKeyFile,
      HERALD_APNS_KEY_ID: 'SIM0000001',
      HERALD_APNS_TEAM_ID: 'SIMTEAM001',
      HERALD_APNS_TOPIC: 'test.herald.app',
      HERALD_APNS_BASE_URL: urls.apns,
    },
    // A key would leak line by line (PEM wraps at 64), so its first body line stands for it.
    secrets: [
      sendgridKey,
      twilioToken,
      slackToken,
      smtpPassword,
      pemLine(fcmKey),
      pemLine(apnsKey),
    ],
  };
}

function pemLine(pem: string): string {
  return pem.split('\n')[1] ?? pem;
}
