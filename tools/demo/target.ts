// The running Herald the demo talks to, and the one way it talks to it: HTTP, and Kafka with
// Avro for what it produces or reads on the topics.

import { logLevel, type Kafka } from 'kafkajs';
import { createKafka } from '@herald/kafka';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';

/** Where the running Herald is, and how long to wait for it. */
export interface Target {
  ingest: string;
  projector: string;
  sim: string;
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  timeScale: number;
  /** The deadline for every message to reach a final status. */
  timeoutMs: number;
  /** Where the services' logs are, for the closing hints. */
  logDir: string;
}

/** A JSON request; `json` is the parsed answer when it is JSON. */
export async function http<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: T | undefined; text: string }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
  const kafka = createKafka({ clientId: 'herald-demo', brokers });
  kafka.logger().setLogLevel(logLevel.NOTHING);
  return kafka;
}

/** Avro in the Confluent wire format against the registry the services use. */
export function demoCodec(schemaRegistryUrl: string): AvroCodec {
  return AvroCodec.connect(schemaRegistryUrl, resolveSchemaDir(process.env.HERALD_SCHEMA_DIR));
}
