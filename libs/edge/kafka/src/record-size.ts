import type { Output } from './transactional-committer';

/**
 * The largest record (key, value and headers) Herald writes. Kafka's default max.message.bytes
 * is 1,048,588 bytes per record batch, and a batch adds its own overhead; a larger output is
 * refused by the broker with an error no retry can fix, so it is caught before it is sent.
 */
export const MAX_RECORD_BYTES = 1_000_000;

/** Bytes an output takes on the wire, near enough (key, value, header names and values). */
export function outputSize({ key, value, headers }: Output): number {
  let size = Buffer.byteLength(key) + value.length;
  for (const [name, header] of Object.entries(headers ?? {})) {
    size += Buffer.byteLength(name);
    for (const part of [header].flat()) {
      if (part !== undefined)
        size += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    }
  }
  return size;
}

/** The first output the broker would refuse as too large, described; null when all fit. */
export function oversizedOutput(
  outputs: readonly Output[],
  maxBytes = MAX_RECORD_BYTES,
): string | null {
  for (const output of outputs) {
    const size = outputSize(output);
    if (size > maxBytes) {
      return `a record for ${output.topic} would take ${size} bytes, over the ${maxBytes} a Kafka record may take`;
    }
  }
  return null;
}
