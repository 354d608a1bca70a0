// The running Herald the demo talks to, and the one way it talks to it: HTTP, and Kafka with
// Avro for what it produces or reads on the topics.

import { logLevel, type Kafka } from 'kafkajs';
import { kafkaSettingsFromEnv, registrySettingsFromEnv } from '@herald/config';
import { ApiKeyStore } from '@herald/auth';
import { createKafka } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';

/** Where the running Herald is, and how long to wait for it. */
export interface Target {
  ingest: string;
  projector: string;
  /** The webhooks service: /v1/webhook-endpoints. */
  webhooks: string;
  /** The dashboard: its pages, the sign-in and the public status page. */
  dashboard: string;
  sim: string;
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  timeScale: number;
  /** The deadline for every message to reach a final status. */
  timeoutMs: number;
  /** Where the services' logs are, for the closing hints. */
  logDir: string;
  /** The demo tenant's secret key, sent on every API call. */
  apiKey: string;
}

/** The tenant of every demo message; its key is made at the start (see demoKey). */
export const DEMO_TENANT = 'demo';

/** A JSON request, with the key when one is given; `json` is the parsed answer when it is JSON. */
export async function http<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  key?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: T | undefined; text: string }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: T | undefined;
  try {
    json = text ? (JSON.parse(text) as T) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/** Herald's Kafka client, silenced so that kafkajs's logging does not mix into the report. */
export function demoKafka(brokers: string[]): Kafka {
  // SASL and TLS as the services read them, from the same variables.
  const { sasl, ssl } = kafkaSettingsFromEnv(process.env, 'herald-demo');
  const kafka = createKafka({ clientId: 'herald-demo', brokers, sasl, ssl });
  kafka.logger().setLogLevel(logLevel.NOTHING);
  return kafka;
}

/** Avro in the Confluent wire format against the registry the services use. */
export function demoCodec(schemaRegistryUrl: string): AvroCodec {
  return AvroCodec.connect(
    schemaRegistryUrl,
    resolveSchemaDir(process.env.HERALD_SCHEMA_DIR),
    registrySettingsFromEnv(process.env).auth,
  );
}

/**
 * The key the demo calls the API with: HERALD_API_KEY when set (a key of tenant `demo`), else a
 * new one stored in Herald's MongoDB exactly as `npm run herald -- keys create --tenant demo`
 * stores it (only its hash).
 */
export async function demoKey(
  mongodbUri: string,
): Promise<{ key: string; created: string | null }> {
  const given = process.env.HERALD_API_KEY;
  if (given) return { key: given, created: null };
  const client = await createMongoClient(mongodbUri).connect();
  try {
    const { key, summary } = await new ApiKeyStore(heraldDb(client, mongodbUri)).create(
      DEMO_TENANT,
      Date.now(),
    );
    return { key, created: summary.id };
  } finally {
    await client.close();
  }
}
