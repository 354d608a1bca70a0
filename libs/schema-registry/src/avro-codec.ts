import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { TopicSpec } from '@herald/topics';
import { valueSubject } from '@herald/topics';
import { readSchema } from './schema-files';

export class SchemaRegistrationError extends Error {
  constructor(
    readonly subject: string,
    cause: unknown,
  ) {
    super(
      `Schema registry refused the schema for subject ${subject}: ${describe(cause)}. ` +
        'An incompatible change to a schema must be made compatible (BACKWARD) or given a new topic.',
    );
    this.name = 'SchemaRegistrationError';
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/**
 * Avro values in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body).
 * register() must run at start: it records, per topic, the schema id this process writes with,
 * and fails loudly when the registry refuses a schema as incompatible.
 */
export class AvroCodec {
  private readonly writerIds = new Map<string, number>();

  constructor(
    readonly registry: SchemaRegistry,
    private readonly schemaDir: string,
  ) {}

  static connect(registryUrl: string, schemaDir: string): AvroCodec {
    return new AvroCodec(new SchemaRegistry({ host: registryUrl }), schemaDir);
  }

  async register(topics: readonly TopicSpec[]): Promise<void> {
    for (const topic of topics) {
      if (!topic.valueSchema) continue;
      const subject = valueSubject(topic.name);
      const schema = readSchema(this.schemaDir, topic.valueSchema);
      try {
        const { id } = await this.registry.register(
          { type: SchemaType.AVRO, schema },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        );
        this.writerIds.set(topic.name, id);
      } catch (error) {
        throw new SchemaRegistrationError(subject, error);
      }
    }
  }

  schemaIdFor(topic: string): number {
    const id = this.writerIds.get(topic);
    if (id === undefined) throw new Error(`No schema registered for topic ${topic}`);
    return id;
  }

  encode(topic: string, value: unknown): Promise<Buffer> {
    return this.registry.encode(this.schemaIdFor(topic), value);
  }

  /** Decodes with the writer's schema, looked up by the id in the bytes (and cached). */
  decode<T>(bytes: Buffer): Promise<T> {
    return this.registry.decode(bytes) as Promise<T>;
  }
}
