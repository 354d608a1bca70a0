/**
 * Per-provider base URLs and credentials. Adapters receive exactly their own section; a provider
 * whose section is null is not configured, and a message naming it ends `not_sent`.
 */

export interface SendgridSettings {
  baseUrl: string;
  apiKey: string;
  /** The verified sender address. */
  from: string;
}

export interface SmtpSettings {
  /** smtp://user:pass@host:port or smtps://…; the credentials never reach a log. */
  url: string;
  from: string;
}

export interface TwilioSettings {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** A Twilio number (E.164) or a Messaging Service SID (MG…). */
  from: string;
}

export interface SlackSettings {
  baseUrl: string;
  botToken: string;
}

export interface FcmSettings {
  baseUrl: string;
  projectId: string;
  /** From the service-account JSON: client_email, private_key (PEM), token_uri. */
  clientEmail: string;
  privateKey: string;
  tokenUri: string;
}

export interface ApnsSettings {
  /** https://api.push.apple.com or https://api.sandbox.push.apple.com. */
  baseUrl: string;
  keyId: string;
  teamId: string;
  /** The .p8 signing key (PEM, PKCS#8). */
  privateKey: string;
  /** The app's bundle id, sent as apns-topic. */
  topic: string;
}

export interface ProviderSettings {
  timeoutMs: number;
  webhook: { headers: Record<string, string> };
  sendgrid: SendgridSettings | null;
  smtp: SmtpSettings | null;
  twilio: TwilioSettings | null;
  slack: SlackSettings | null;
  fcm: FcmSettings | null;
  apns: ApnsSettings | null;
}
