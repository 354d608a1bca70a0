import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  kafkaSettingsFromEnv,
  loadConfig,
  readKafkaSecurity,
  registrySettingsFromEnv,
} from '@herald/config';
import { KafkaAuthenticationError, kafkaAuthenticationFailure } from '@herald/kafka';
import { AvroCodec, registryAuthHeaders, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';

const PASSWORD = 'pa55-w0rd-never-printed';

/** The ConfigError loadConfig throws for `env`, as variable → problem. */
function problemsOf(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig('sender', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(PASSWORD);
    return Object.fromEntries(
      (error as ConfigError).problems.map(({ variable, problem }) => [variable, problem]),
    );
  }
  throw new Error('loadConfig accepted the environment');
}

describe('Kafka SASL settings', () => {
  it('are absent unless configured: plain-text Kafka, no registry auth', () => {
    const config = loadConfig('sender', {});
    expect(config.kafka).toEqual({ brokers: ['localhost:9092'], clientId: 'herald-sender' });
    expect(config.schemaRegistryAuth).toBeUndefined();
  });

  it.each(['plain', 'scram-sha-256', 'SCRAM-SHA-512'])('accept mechanism %s', (mechanism) => {
    const config = loadConfig('sender', {
      KAFKA_BROKERS: 'kafka:9094',
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SASL_USERNAME: 'herald',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(config.kafka).toEqual({
      brokers: ['kafka:9094'],
      clientId: 'herald-sender',
      sasl: { mechanism: mechanism.toLowerCase(), username: 'herald', password: PASSWORD },
    });
  });

  it('keep a password exactly as given, spaces included', () => {
    const security = readKafkaSecurity({
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: ' spaced ',
    });
    expect(security.kafka.sasl?.password).toBe(' spaced ');
  });

  it('name the missing username or password when a mechanism is set', () => {
    expect(
      problemsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: PASSWORD }),
    ).toEqual({ KAFKA_SASL_USERNAME: 'must be set when KAFKA_SASL_MECHANISM is set' });
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'herald' })).toEqual({
      KAFKA_SASL_PASSWORD: 'must be set when KAFKA_SASL_MECHANISM is set',
    });
  });

  it('refuse credentials without a mechanism rather than connect unauthenticated', () => {
    const problems = problemsOf({ KAFKA_SASL_USERNAME: 'herald', KAFKA_SASL_PASSWORD: PASSWORD });
    expect(Object.keys(problems)).toEqual(['KAFKA_SASL_MECHANISM']);
    expect(problems.KAFKA_SASL_MECHANISM).toContain('scram-sha-256');
  });

  it('name an unknown mechanism without quoting any value', () => {
    const problems = problemsOf({
      KAFKA_SASL_MECHANISM: PASSWORD, // a value pasted into the wrong variable
      KAFKA_SASL_USERNAME: 'herald',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(problems).toEqual({
      KAFKA_SASL_MECHANISM: 'must be plain, scram-sha-256 or scram-sha-512',
    });
  });

  it('treat empty variables as unset', () => {
    expect(readKafkaSecurity({ KAFKA_SASL_MECHANISM: '', KAFKA_SSL: '' })).toEqual({
      kafka: {},
      schemaRegistryAuth: undefined,
      problems: [],
    });
  });
});

describe('Kafka TLS settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-kafka-tls-'));
  const ca = join(dir, 'ca.pem');
  const cert = join(dir, 'client.pem');
  const key = join(dir, 'client.key');
  writeFileSync(ca, 'CA PEM');
  writeFileSync(cert, 'CERT PEM');
  writeFileSync(key, 'KEY PEM');

  it('turn on TLS verifying the broker by default', () => {
    expect(loadConfig('ingest', { KAFKA_SSL: 'true' }).kafka.ssl).toEqual({
      rejectUnauthorized: true,
    });
  });

  it('read the CA, client certificate and key files', () => {
    const config = loadConfig('ingest', {
      KAFKA_SSL: 'TRUE',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SSL_CERT_FILE: cert,
      KAFKA_SSL_KEY_FILE: key,
      KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
    });
    expect(config.kafka.ssl).toEqual({
      rejectUnauthorized: false,
      ca: 'CA PEM',
      cert: 'CERT PEM',
      key: 'KEY PEM',
    });
  });

  it('combine with SASL (SASL_SSL)', () => {
    const config = loadConfig('ingest', {
      KAFKA_SSL: '1',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'herald',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(config.kafka.ssl).toEqual({ rejectUnauthorized: true });
    expect(config.kafka.sasl?.mechanism).toBe('scram-sha-512');
  });

  it('name a CA file that cannot be read', () => {
    const missing = join(dir, 'missing.pem');
    const problems = problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: missing });
    expect(problems).toEqual({ KAFKA_SSL_CA_FILE: `cannot read ${missing} (ENOENT)` });
  });

  it('name the other half of a certificate and key pair', () => {
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert })).toEqual({
      KAFKA_SSL_KEY_FILE: 'must be set when KAFKA_SSL_CERT_FILE is set',
    });
  });

  it('refuse TLS files while TLS is off', () => {
    expect(problemsOf({ KAFKA_SSL_CA_FILE: ca })).toEqual({
      KAFKA_SSL: 'must be true when KAFKA_SSL_CA_FILE is set',
    });
  });

  it('name a flag that is neither true nor false', () => {
    expect(problemsOf({ KAFKA_SSL: 'yes please', KAFKA_SASL_PASSWORD: PASSWORD })).toEqual({
      KAFKA_SSL: 'must be true or false',
    });
  });
});

describe('schema registry basic auth', () => {
  it('is read from SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD', () => {
    const config = loadConfig('projector', {
      SCHEMA_REGISTRY_USERNAME: 'registry-user',
      SCHEMA_REGISTRY_PASSWORD: PASSWORD,
    });
    expect(config.schemaRegistryAuth).toEqual({ username: 'registry-user', password: PASSWORD });
  });

  it('names the missing half', () => {
    expect(problemsOf({ SCHEMA_REGISTRY_USERNAME: 'registry-user' })).toEqual({
      SCHEMA_REGISTRY_PASSWORD: 'must be set when SCHEMA_REGISTRY_USERNAME is set',
    });
    expect(problemsOf({ SCHEMA_REGISTRY_PASSWORD: PASSWORD })).toEqual({
      SCHEMA_REGISTRY_USERNAME: 'must be set when SCHEMA_REGISTRY_PASSWORD is set',
    });
  });

  it('makes a Basic Authorization header, and none without credentials', () => {
    expect(registryAuthHeaders({ username: 'u', password: 'p:w' })).toEqual({
      Authorization: `Basic ${Buffer.from('u:p:w').toString('base64')}`,
    });
    expect(registryAuthHeaders(undefined)).toEqual({});
  });

  describe('the codec against a registry that requires it', () => {
    const auth = { username: 'registry-user', password: PASSWORD };
    const expected = `Basic ${Buffer.from(`registry-user:${PASSWORD}`).toString('base64')}`;
    const seen: { method: string; url: string; authorization: string | undefined }[] = [];
    let server: Server;
    let url: string;

    beforeAll(async () => {
      // Just enough of the Confluent API for register(): compatibility, then the new version.
      server = createServer((request, response) => {
        seen.push({
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
        });
        request.resume();
        request.on('end', () => {
          const status = request.headers.authorization === expected ? 200 : 401;
          const body = request.url?.startsWith('/config/')
            ? { compatibility: 'BACKWARD', compatibilityLevel: 'BACKWARD' }
            : { id: 42 };
          response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
          response.end(JSON.stringify(status === 200 ? body : { error_code: 401 }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => (seen.length = 0));

    it('sends the credentials on every call, its own and the client library’s', async () => {
      const codec = AvroCodec.connect(url, resolveSchemaDir(), auth);
      await codec.register([TOPICS.messagesRequested]);
      expect(codec.schemaIdFor(TOPICS.messagesRequested.name)).toBe(42);
      expect(seen.map((call) => call.method)).toEqual(['PUT', 'GET', 'POST']);
      expect(seen.every((call) => call.authorization === expected)).toBe(true);
    });

    it('without them, is refused with a hint naming the variables', async () => {
      const codec = AvroCodec.connect(url, resolveSchemaDir());
      await expect(codec.register([TOPICS.messagesRequested])).rejects.toThrow(
        /answered 401 .*SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/,
      );
      expect(seen[0]?.authorization).toBeUndefined();
    });
  });
});

describe('the tools’ settings', () => {
  const env = {
    KAFKA_BROKERS: '127.0.0.1:9094',
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: 'herald',
    KAFKA_SASL_PASSWORD: PASSWORD,
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7/',
    SCHEMA_REGISTRY_USERNAME: 'registry-user',
    SCHEMA_REGISTRY_PASSWORD: PASSWORD,
  };

  it('are the services’ settings, with the tool’s client id', () => {
    expect(kafkaSettingsFromEnv(env, 'herald-demo')).toEqual({
      ...loadConfig('sender', env).kafka,
      clientId: 'herald-demo',
    });
    expect(registrySettingsFromEnv(env)).toEqual({
      url: 'http://127.0.0.1:8081/apis/ccompat/v7',
      auth: { username: 'registry-user', password: PASSWORD },
    });
  });

  it('default and validate as the services do', () => {
    expect(kafkaSettingsFromEnv({}, 'tool')).toEqual({
      brokers: ['localhost:9092'],
      clientId: 'tool',
    });
    expect(() => kafkaSettingsFromEnv({ KAFKA_BROKERS: 'no-port' }, 'tool')).toThrow(
      /KAFKA_BROKERS: must be a comma-separated list/,
    );
    expect(() => kafkaSettingsFromEnv({ KAFKA_SASL_MECHANISM: 'plain' }, 'tool')).toThrow(
      ConfigError,
    );
    expect(() => registrySettingsFromEnv({ SCHEMA_REGISTRY_URL: 'registry:8081' })).toThrow(
      /SCHEMA_REGISTRY_URL/,
    );
  });
});

describe('a refused SASL login', () => {
  const settings = {
    brokers: ['127.0.0.1:9094', '127.0.0.1:9095'],
    clientId: 'herald-sender',
    sasl: { mechanism: 'scram-sha-256' as const, username: 'herald', password: PASSWORD },
  };

  function saslError(message: string): Error {
    const error = new Error(message);
    error.name = 'KafkaJSSASLAuthenticationError';
    return error;
  }

  it('names Kafka, the brokers, the user and the mechanism, however deeply wrapped', () => {
    const wrapped = new Error('Kafka (127.0.0.1:9094): boom', {
      cause: Object.assign(new Error('retries exceeded'), {
        originalError: saslError('SASL SCRAM SHA256 authentication failed: invalid credentials'),
      }),
    });
    const failure = kafkaAuthenticationFailure(wrapped, settings);
    expect(failure).toBeInstanceOf(KafkaAuthenticationError);
    expect(failure?.message).toBe(
      "cannot connect to Kafka at 127.0.0.1:9094,127.0.0.1:9095: SASL authentication failed for user 'herald' (mechanism scram-sha-256): SASL SCRAM SHA256 authentication failed: invalid credentials",
    );
  });

  it('never repeats the password, even if the broker echoed it', () => {
    const failure = kafkaAuthenticationFailure(saslError(`bad password ${PASSWORD}`), settings);
    expect(failure?.message).not.toContain(PASSWORD);
    expect(failure?.message).toContain('bad password [REDACTED]');
  });

  it('leaves every other failure alone', () => {
    expect(kafkaAuthenticationFailure(new Error('Connection timeout'), settings)).toBeUndefined();
    expect(kafkaAuthenticationFailure('not an error', settings)).toBeUndefined();
  });
});
