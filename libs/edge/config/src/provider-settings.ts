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
  /** Headers added to webhook calls, and the only hosts (lower case) they are sent to. */
  webhook: { headers: Record<string, string>; headerHosts: string[] };
  sendgrid: SendgridSettings | null;
  smtp: SmtpSettings | null;
  twilio: TwilioSettings | null;
  slack: SlackSettings | null;
  fcm: FcmSettings | null;
  apns: ApnsSettings | null;
}

/**
 * Where each setting comes from: `HERALD_<PROVIDER>_<FIELD>` in the environment, else the
 * provider's section of HERALD_PROVIDERS_FILE (JSON or YAML, keys as in the interfaces above).
 * Secrets may also be given as files (`HERALD_FCM_SERVICE_ACCOUNT_FILE`, `HERALD_APNS_KEY_FILE`)
 * so they need not sit in the environment.
 */
interface FieldSpec {
  field: string;
  env: string;
  required: boolean;
  default?: string;
  /** Also accepted: a file holding the value (PEM keys). */
  fileEnv?: string;
}

const PROVIDER_FIELDS: Record<
  Exclude<keyof ProviderSettings, 'timeoutMs' | 'webhook'>,
  FieldSpec[]
> = {
  sendgrid: [
    { field: 'apiKey', env: 'HERALD_SENDGRID_API_KEY', required: true },
    { field: 'from', env: 'HERALD_SENDGRID_FROM', required: true },
    {
      field: 'baseUrl',
      env: 'HERALD_SENDGRID_BASE_URL',
      required: true,
      default: 'https://api.sendgrid.com',
    },
  ],
  smtp: [
    { field: 'url', env: 'HERALD_SMTP_URL', required: true },
    { field: 'from', env: 'HERALD_SMTP_FROM', required: true },
  ],
  twilio: [
    { field: 'accountSid', env: 'HERALD_TWILIO_ACCOUNT_SID', required: true },
    { field: 'authToken', env: 'HERALD_TWILIO_AUTH_TOKEN', required: true },
    { field: 'from', env: 'HERALD_TWILIO_FROM', required: true },
    {
      field: 'baseUrl',
      env: 'HERALD_TWILIO_BASE_URL',
      required: true,
      default: 'https://api.twilio.com',
    },
  ],
  slack: [
    { field: 'botToken', env: 'HERALD_SLACK_BOT_TOKEN', required: true },
    {
      field: 'baseUrl',
      env: 'HERALD_SLACK_BASE_URL',
      required: true,
      default: 'https://slack.com',
    },
  ],
  fcm: [
    { field: 'projectId', env: 'HERALD_FCM_PROJECT_ID', required: true },
    { field: 'clientEmail', env: 'HERALD_FCM_CLIENT_EMAIL', required: true },
    {
      field: 'privateKey',
      env: 'HERALD_FCM_PRIVATE_KEY',
      fileEnv: 'HERALD_FCM_PRIVATE_KEY_FILE',
      required: true,
    },
    {
      field: 'tokenUri',
      env: 'HERALD_FCM_TOKEN_URI',
      required: true,
      default: 'https://oauth2.googleapis.com/token',
    },
    {
      field: 'baseUrl',
      env: 'HERALD_FCM_BASE_URL',
      required: true,
      default: 'https://fcm.googleapis.com',
    },
  ],
  apns: [
    { field: 'keyId', env: 'HERALD_APNS_KEY_ID', required: true },
    { field: 'teamId', env: 'HERALD_APNS_TEAM_ID', required: true },
    {
      field: 'privateKey',
      env: 'HERALD_APNS_PRIVATE_KEY',
      fileEnv: 'HERALD_APNS_KEY_FILE',
      required: true,
    },
    { field: 'topic', env: 'HERALD_APNS_TOPIC', required: true },
    {
      field: 'baseUrl',
      env: 'HERALD_APNS_BASE_URL',
      required: true,
      default: 'https://api.push.apple.com',
    },
  ],
};

/** Every environment variable a provider reads, for the README and the config error texts. */
export const PROVIDER_ENV_VARIABLES: readonly string[] = [
  ...Object.values(PROVIDER_FIELDS).flatMap((fields) =>
    fields.flatMap((f) => (f.fileEnv ? [f.env, f.fileEnv] : [f.env])),
  ),
  'HERALD_FCM_SERVICE_ACCOUNT_FILE',
];

export interface ProviderSettingsSources {
  env: Record<string, string | undefined>;
  /** The parsed HERALD_PROVIDERS_FILE (or {}), and its path for error messages. */
  file: Record<string, unknown>;
  filePath: string | undefined;
  readFile: (path: string) => string;
}

export interface SettingsProblem {
  variable: string;
  problem: string;
}

/**
 * Builds every provider's settings. A provider none of whose own settings is given is left
 * unconfigured (null); one given only in part is a problem naming each missing setting, so a
 * typo does not silently disable a channel.
 */
export function buildProviderSettings(
  sources: ProviderSettingsSources,
  base: Pick<ProviderSettings, 'timeoutMs' | 'webhook'>,
): { settings: ProviderSettings; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  const env = withServiceAccount(sources, problems);
  const settings: ProviderSettings = {
    ...base,
    sendgrid: null,
    smtp: null,
    twilio: null,
    slack: null,
    fcm: null,
    apns: null,
  };
  for (const [provider, fields] of Object.entries(PROVIDER_FIELDS)) {
    const section = sources.file[provider];
    const fromFile =
      section && typeof section === 'object' && !Array.isArray(section)
        ? (section as Record<string, unknown>)
        : {};
    const values: Record<string, string> = {};
    let given = false;
    const missing: FieldSpec[] = [];
    for (const spec of fields) {
      let value = env[spec.env]?.trim() || undefined;
      if (value === undefined && spec.fileEnv && env[spec.fileEnv]?.trim()) {
        const path = env[spec.fileEnv]!.trim();
        try {
          value = sources.readFile(path);
        } catch (error) {
          problems.push({
            variable: spec.fileEnv,
            problem: `cannot read ${path}: ${(error as Error).message}`,
          });
          given = true;
          continue;
        }
      }
      if (value === undefined && typeof fromFile[spec.field] === 'string') {
        value = (fromFile[spec.field] as string).trim() || undefined;
      }
      if (value !== undefined) given = true;
      value ??= spec.default;
      if (value === undefined) missing.push(spec);
      else values[spec.field] = value;
    }
    if (!given) continue;
    for (const spec of missing) {
      problems.push({
        variable: spec.env,
        problem: `required to use ${provider} (or ${provider}.${spec.field} in ${sources.filePath ?? 'HERALD_PROVIDERS_FILE'})`,
      });
    }
    for (const field of ['baseUrl', 'url']) {
      const value = values[field];
      const spec = fields.find((f) => f.field === field);
      if (value === undefined || !spec) continue;
      const scheme = field === 'url' ? /^smtps?:\/\/[^\s]+$/ : /^https?:\/\/[^\s]+$/;
      if (!scheme.test(value)) {
        problems.push({
          variable: spec.env,
          problem:
            field === 'url' ? 'must be an smtp:// or smtps:// URL' : 'must be an http(s) URL',
        });
      } else if (field === 'baseUrl') {
        values[field] = value.replace(/\/+$/, '');
      }
    }
    if (missing.length === 0) (settings as unknown as Record<string, unknown>)[provider] = values;
  }
  return { settings, problems };
}

/**
 * FCM credentials usually arrive as the service-account JSON Google hands out;
 * HERALD_FCM_SERVICE_ACCOUNT_FILE fills whichever FCM settings are not given one by one.
 */
function withServiceAccount(
  sources: ProviderSettingsSources,
  problems: SettingsProblem[],
): Record<string, string | undefined> {
  const variable = 'HERALD_FCM_SERVICE_ACCOUNT_FILE';
  const path = sources.env[variable]?.trim();
  if (!path) return sources.env;
  let account: Record<string, unknown>;
  try {
    account = JSON.parse(sources.readFile(path)) as Record<string, unknown>;
  } catch (error) {
    problems.push({ variable, problem: `cannot read ${path}: ${(error as Error).message}` });
    return sources.env;
  }
  const pick = (key: string) => (typeof account[key] === 'string' ? account[key] : undefined);
  return {
    HERALD_FCM_PROJECT_ID: pick('project_id'),
    HERALD_FCM_CLIENT_EMAIL: pick('client_email'),
    HERALD_FCM_PRIVATE_KEY: pick('private_key'),
    HERALD_FCM_TOKEN_URI: pick('token_uri'),
    ...Object.fromEntries(Object.entries(sources.env).filter(([, v]) => v?.trim())),
  };
}
