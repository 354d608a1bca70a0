import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Type, type Resolver, type Schema } from 'avsc';
import type { TopicSpec } from '@herald/topics';
import { valueSubject } from '@herald/topics';
import { checkBlockCounts } from './block-counts';
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

/** HTTP basic auth for the registry (SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/**
 * The Authorization header for the registry calls Herald makes itself (compatibility, the
 * readiness probe); the client library sends the same from its `auth` option.
 */
export function registryAuthHeaders(auth: RegistryCredentials | undefined): Record<string, string> {
  if (!auth) return {};
  const token = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
  return { Authorization: `Basic ${token}` };
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
  private readonly readers = new Map<string, Type>();
  /** null: the writer's schema is the reader's, no resolution needed. */
  private readonly resolvers = new Map<string, Resolver | null>();

  constructor(
    readonly registry: SchemaRegistry,
    private readonly registryUrl: string,
    private readonly schemaDir: string,
    private readonly auth?: RegistryCredentials,
  ) {}

  static connect(registryUrl: string, schemaDir: string, auth?: RegistryCredentials): AvroCodec {
    const registry = new SchemaRegistry({
      host: registryUrl,
      ...(auth ? { auth: { ...auth } } : {}),
    });
    return new AvroCodec(registry, registryUrl, schemaDir, auth);
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
        headers: {
          'Content-Type': 'application/vnd.schemaregistry.v1+json',
          ...registryAuthHeaders(this.auth),
        },
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
          : response.status === 401 || response.status === 403
            ? ' (the registry refused the credentials: check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD)'
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

  /**
   * Decodes a value. With `readerSchema` (a schemas/ file name), the writer's schema (looked up
   * by the id in the bytes) is resolved into Herald's current schema, so records written before
   * a field was added read with that field's default, as Avro schema evolution intends;
   * without it, the value is read exactly as written.
   */
  async decode<T>(bytes: Buffer, readerSchema?: string): Promise<T> {
    if (bytes.length < 5 || bytes[0] !== 0) return this.registry.decode(bytes) as Promise<T>;
    const id = bytes.readInt32BE(1);
    const writer = (await this.registry.getSchema(id)) as Type;
    // Before avsc reads it: a block count the bytes cannot hold would keep avsc busy for hours.
    checkBlockCounts(writer, bytes.subarray(5));
    if (!readerSchema) return this.registry.decode(bytes) as Promise<T>;
    const reader = this.readerType(readerSchema);
    const key = `${readerSchema}:${id}`;
    let resolver = this.resolvers.get(key);
    if (resolver === undefined) {
      // Throws when the writer's record cannot be read as this one: not a value of this topic.
      resolver = reader.equals(writer) ? null : reader.createResolver(writer);
      this.resolvers.set(key, resolver);
    }
    const body = bytes.subarray(5);
    return (resolver ? reader.fromBuffer(body, resolver) : reader.fromBuffer(body)) as T;
  }

  private readerType(name: string): Type {
    let type = this.readers.get(name);
    if (!type) {
      type = Type.forSchema(JSON.parse(readSchema(this.schemaDir, name)) as Schema);
      this.readers.set(name, type);
    }
    return type;
  }
}
