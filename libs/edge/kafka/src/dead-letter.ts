import type { KafkaMessage } from 'kafkajs';
import type { LogRecord } from '@herald/config';
import type { AvroCodec } from '@herald/schema-registry';
import { recordDeadLetter, type DeadLetterReason } from '@herald/metrics';
import { ALL_TOPICS, TOPICS } from '@herald/topics';
import { errorMessage } from './error-message';
import { MAX_RECORD_BYTES, outputSize } from './record-size';
import type { Output } from './transactional-committer';

/**
 * A record no one can process goes to herald.dead-letter with its original key and bytes, and
 * headers saying why and where it came from, so it never stalls its partition. `category` is
 * the reason in a word, for herald_dead_letters_total (the header keeps the whole reason).
 */
export function deadLetter(
  message: KafkaMessage,
  source: { topic: string; partition: number; service: string },
  reason: string,
  category: DeadLetterReason = 'gave_up',
): Output {
  recordDeadLetter(source.topic, category);
  const letter: Output = {
    topic: TOPICS.deadLetter.name,
    key: message.key?.toString() ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: {
      ...message.headers,
      'herald-dlq-reason': reason,
      'herald-dlq-source-topic': source.topic,
      'herald-dlq-source-partition': String(source.partition),
      'herald-dlq-source-offset': message.offset,
      'herald-dlq-service': source.service,
      'herald-dlq-at': new Date().toISOString(),
    },
  };
  return fitted(letter);
}

/**
 * A dead letter the broker would refuse (its record was near the limit, and the headers pushed
 * it over) keeps the start of its value, with the original length in a header: a dead letter
 * that cannot be written would stop its consumer, the very thing it exists to prevent.
 */
function fitted(letter: Output): Output {
  const over = outputSize(letter) - MAX_RECORD_BYTES;
  if (over <= 0) return letter;
  return {
    ...letter,
    value: letter.value.subarray(0, Math.max(0, letter.value.length - over - 64)),
    headers: { ...letter.headers, 'herald-dlq-value-bytes': String(letter.value.length) },
  };
}

/** Why the bytes could not be decoded, in words an operator can act on. */
export function decodeFailure(error: unknown, value: Buffer | null): string {
  if (!value || value.length === 0) return 'empty value';
  if (value[0] !== 0)
    return `not in the Confluent wire format (first byte ${value[0]}, expected 0)`;
  return `undecodable Avro (schema id ${value.length >= 5 ? value.readInt32BE(1) : '?'}): ${errorMessage(error)}`;
}

/**
 * Decoding can fail because the record is bad (DLQ it) or because the registry could not be
 * asked right now (retry the batch; dead-lettering good records during a registry outage
 * would lose them).
 */
export function isTransientDecodeError(error: unknown, schemaId?: number): boolean {
  const e = error as { status?: number; code?: string; message?: string } | undefined;
  if (typeof e?.status === 'number') {
    // The registry refused us (credentials) or is not where we look (a wrong URL answers 404
    // for every id): the records are fine, so retry and let the logs say why. A 404 that names
    // the record's own schema id is the registry saying that id does not exist: a bad record.
    if (e.status === 404) {
      // Registry ids are positive, so a record naming 0 or a negative id is bad, whatever the
      // answer says (the fuzz found '-1', which a word boundary before the sign missed).
      if (schemaId !== undefined && schemaId <= 0) return false;
      return (
        schemaId === undefined || !new RegExp(`(?<!\\d)${schemaId}(?!\\d)`).test(e.message ?? '')
      );
    }
    return e.status >= 500 || e.status === 429 || e.status === 401 || e.status === 403;
  }
  if (typeof e?.code === 'string' && /^(E[A-Z]+|UND_ERR_.*)$/.test(e.code)) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|network/i.test(
    e?.message ?? '',
  );
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; deadLetter: Output; reason: string };

/**
 * Decodes a record's Avro value, or turns it into a dead letter when it can never be decoded.
 * Throws (so the batch is retried) when only the registry could not be asked right now.
 */
export async function decodeOrDeadLetter<T>(
  codec: AvroCodec,
  message: KafkaMessage,
  source: { topic: string; partition: number; service: string },
  logger: { warn(message: string | LogRecord): void },
): Promise<Decoded<T>> {
  try {
    // Read into the topic's current schema, so records from before a field was added still fit.
    const schema = ALL_TOPICS.find((topic) => topic.name === source.topic)?.valueSchema;
    const value = await codec.decode<T>(message.value ?? Buffer.alloc(0), schema ?? undefined);
    return { ok: true, value };
  } catch (error) {
    const value = message.value;
    const schemaId =
      value && value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : undefined;
    if (isTransientDecodeError(error, schemaId)) throw error;
    const reason = decodeFailure(error, message.value);
    // Undecodable, so the tenant is unknown; the key is the messageId (every record is keyed by it).
    const messageId = message.key?.toString();
    logger.warn({
      msg: `dead-lettered ${source.topic}/${source.partition}@${message.offset}: ${reason}`,
      ...(messageId ? { messageId } : {}),
    });
    return { ok: false, deadLetter: deadLetter(message, source, reason, 'undecodable'), reason };
  }
}
