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
    private readonly registryUrl: string,
    private readonly schemaDir: string,
  ) {}

  static connect(registryUrl: string, schemaDir: string): AvroCodec {
    return new AvroCodec(new SchemaRegistry({ host: registryUrl }), registryUrl, schemaDir);
  }

  async register(topics: readonly TopicSpec[]): Promise<void> {
    for (const topic of topics) {
      if (!topic.valueSchema) continue;
      const subject = valueSubject(topic.name);
      const schema = readSchema(this.schemaDir, topic.valueSchema);
      try {
        await this.requireBackward(subject);
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

  /**
   * Pins the subject to BACKWARD before registering, so a subject someone left at NONE cannot
   * take an incompatible schema. Both Confluent's registry and Apicurio accept this for a
   * subject that has no versions yet.
   */
  private async requireBackward(subject: string): Promise<void> {
    // Several services start at once and set the same new subject's compatibility together;
    // Apicurio answers the losers of that race 409, which is a conflict worth retrying.
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(`${this.registryUrl}/config/${encodeURIComponent(subject)}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility: COMPATIBILITY.BACKWARD }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return;
      if (response.status === 409 && attempt < 8) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
        continue;
      }
      const hint =
        response.status === 404
          ? ' (no Confluent-compatible API at this URL: for the local Apicurio registry use http://127.0.0.1:8081/apis/ccompat/v7)'
          : '';
      throw new Error(`setting compatibility answered ${response.status}${hint}`);
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
