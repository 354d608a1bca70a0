import { ConfigError, loadConfig } from '@herald/config';

describe('loadConfig', () => {
  it('gives working local defaults when nothing is set', () => {
    const config = loadConfig('ingest', {});
    expect(config).toMatchObject({
      service: 'ingest',
      httpPort: 3000,
      httpHost: '127.0.0.1',
      kafka: { brokers: ['localhost:9092'], clientId: 'herald-ingest' },
      schemaRegistryUrl: 'http://localhost:8081',
      mongodbUri: 'mongodb://localhost:27017/herald',
      timeScale: 1,
    });
  });

  it.each([
    ['ingest', 3000],
    ['projector', 3001],
    ['sender', 3002],
    ['status-checker', 3003],
  ] as const)('gives %s its contract port %d', (service, port) => {
    expect(loadConfig(service, {}).httpPort).toBe(port);
  });

  it('reads each service port from its own variable', () => {
    expect(loadConfig('sender', { SENDER_PORT: '4102', INGEST_PORT: '9' }).httpPort).toBe(4102);
  });

  it('parses broker lists, trims URLs and scales time', () => {
    const config = loadConfig('sender', {
      KAFKA_BROKERS: 'a:9092, b:9093',
      SCHEMA_REGISTRY_URL: 'http://registry:8081/',
      HERALD_TIME_SCALE: '0.001',
    });
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9093']);
    expect(config.schemaRegistryUrl).toBe('http://registry:8081');
    expect(config.timeScale).toBe(0.001);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig('ingest', { KAFKA_BROKERS: '' }).kafka.brokers).toEqual(['localhost:9092']);
  });

  it('names every malformed variable in one error', () => {
    let error: unknown;
    try {
      loadConfig('projector', {
        KAFKA_BROKERS: 'no-port-here',
        SCHEMA_REGISTRY_URL: 'registry:8081',
        MONGODB_URI: 'postgres://x',
        HERALD_TIME_SCALE: '0',
        PROJECTOR_PORT: '70000',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((problem) => problem.variable).sort();
    expect(variables).toEqual([
      'HERALD_TIME_SCALE',
      'KAFKA_BROKERS',
      'MONGODB_URI',
      'PROJECTOR_PORT',
      'SCHEMA_REGISTRY_URL',
    ]);
    expect((error as ConfigError).message).toContain('KAFKA_BROKERS: must be a comma-separated');
    expect((error as ConfigError).message).toContain('HERALD_TIME_SCALE: must be greater than 0');
  });

  it('refuses a non-numeric time scale, naming it', () => {
    expect(() => loadConfig('sender', { HERALD_TIME_SCALE: 'fast' })).toThrow(/HERALD_TIME_SCALE/);
  });

  it('logs JSON lines unless stdout is a terminal, and text on one', () => {
    expect(loadConfig('sender', {}, { terminal: false }).logFormat).toBe('json');
    expect(loadConfig('sender', {}, { terminal: true }).logFormat).toBe('text');
    expect(loadConfig('sender', { HERALD_LOG_FORMAT: '' }, { terminal: false }).logFormat).toBe(
      'json',
    );
  });

  it('takes HERALD_LOG_FORMAT over the terminal, and the level beside it', () => {
    const text = loadConfig('sender', { HERALD_LOG_FORMAT: 'text' }, { terminal: false });
    expect(text.logFormat).toBe('text');
    const json = loadConfig(
      'sender',
      { HERALD_LOG_FORMAT: 'json', HERALD_LOG_LEVEL: 'debug' },
      { terminal: true },
    );
    expect(json).toMatchObject({ logFormat: 'json', logLevel: 'debug' });
    expect(loadConfig('sender', {}, { terminal: true }).logLevel).toBe('log');
  });

  it('traces only when a collector is named: the traces URL as given, or the base + /v1/traces', () => {
    expect(loadConfig('sender', {}).tracesEndpoint).toBeNull();
    expect(
      loadConfig('sender', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })
        .tracesEndpoint,
    ).toBe('http://collector:4318/v1/traces');
    expect(
      loadConfig('sender', {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp/v1/traces',
      }).tracesEndpoint,
    ).toBe('https://traces.example/otlp/v1/traces');
    expect(() => loadConfig('sender', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });

  it('refuses another log format, naming the variable', () => {
    expect(() => loadConfig('sender', { HERALD_LOG_FORMAT: 'xml' })).toThrow(
      'HERALD_LOG_FORMAT: must be json or text',
    );
  });
});
