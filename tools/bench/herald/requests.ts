/**
 * The requests the bench produces: MessageRequested records for the webhook channel, aimed at
 * the simulator, Avro-encoded via the registry and produced on herald.messages.requested
 * exactly as any client would.
 */

import { logLevel, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { createKafka } from '@herald/kafka';
import { kafkaSettingsFromEnv, registrySettingsFromEnv } from '@herald/config';
import type { MessageRequested } from '@herald/messages';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import type { Servers } from '../servers';

export interface EncodedRequest {
  key: string;
  value: Buffer;
}

/** Produces MessageRequested records on herald.messages.requested, Avro-encoded via the registry. */
export class RequestProducer {
  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly codec: AvroCodec,
  ) {}

  static async connect(servers: Servers): Promise<RequestProducer> {
    // SASL/TLS and registry auth from the variables the services the bench starts read too.
    const { sasl, ssl } = kafkaSettingsFromEnv(process.env, 'herald-bench');
    const kafka = createKafka({ clientId: 'herald-bench', brokers: servers.brokers, sasl, ssl });
    kafka.logger().setLogLevel(logLevel.ERROR);
    const codec = AvroCodec.connect(
      servers.registryUrl,
      resolveSchemaDir(),
      registrySettingsFromEnv(process.env).auth,
    );
    // Registers (or finds) the schema the services register, and learns its id.
    await codec.register([TOPICS.messagesRequested]);
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    return new RequestProducer(kafka, producer, codec);
  }

  get client(): Kafka {
    return this.kafka;
  }

  get avro(): AvroCodec {
    return this.codec;
  }

  async encode(request: MessageRequested): Promise<EncodedRequest> {
    return {
      key: request.messageId,
      value: await this.codec.encode(TOPICS.messagesRequested.name, request),
    };
  }

  /** Sends in chunks, a few in flight, each acknowledged by all in-sync replicas. */
  async send(records: readonly EncodedRequest[], chunk = 1000, inFlight = 4): Promise<void> {
    const chunks: EncodedRequest[][] = [];
    for (let i = 0; i < records.length; i += chunk) chunks.push(records.slice(i, i + chunk));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const messages = chunks[next++];
        if (!messages) break;
        await this.producer.send({ topic: TOPICS.messagesRequested.name, acks: -1, messages });
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, chunks.length) }, worker));
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

export function webhookRequest(fields: {
  messageId: string;
  tenantId: string;
  recipient: string;
  retryPolicy?: string | null;
}): MessageRequested {
  return {
    messageId: fields.messageId,
    tenantId: fields.tenantId,
    channel: 'webhook',
    provider: 'webhook',
    providers: [],
    recipient: fields.recipient,
    content: { text: 'herald bench' },
    retryPolicy: fields.retryPolicy ?? null,
    metadata: {},
    requestedAt: Date.now(),
  };
}

/** A webhook recipient on the simulator: unique path per message, optional provider latency. */
export function hookUrl(simUrl: string, script: string, id: string, latencyMs = 0): string {
  return `${simUrl}/hooks/${script}/${id}${latencyMs > 0 ? `?latency=${latencyMs}` : ''}`;
}
