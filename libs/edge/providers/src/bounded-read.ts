import { BODY_LIMIT_BYTES } from '@herald/redaction';

/**
 * How much of a provider's answer is read: the logged size and as much again, so redaction
 * (which can shorten a body) still has a full log's worth, and a classifier still sees any
 * provider error, which is always short. A larger answer is cut off rather than buffered whole:
 * 512 calls in flight each reading a 64 MiB answer would take gigabytes.
 */
export const RESPONSE_READ_LIMIT_BYTES = 2 * BODY_LIMIT_BYTES;

/** Collects chunks up to `limit` bytes; `full` turns true once more would be past it. */
export class BoundedBody {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  full = false;

  constructor(private readonly limit = RESPONSE_READ_LIMIT_BYTES) {}

  /** Keeps what fits of the chunk; returns false once the limit is reached (stop reading). */
  add(chunk: Buffer): boolean {
    const room = this.limit - this.bytes;
    if (chunk.length >= room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.limit;
      this.full = true;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  /** The text read; a character cut at the limit decodes as U+FFFD, which redaction keeps. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Reads a body stream up to the limit, then stops (the rest is never received). */
export async function readBounded(
  stream: AsyncIterable<Buffer> & { destroy?: () => void },
  limit = RESPONSE_READ_LIMIT_BYTES,
): Promise<string> {
  const body = new BoundedBody(limit);
  for await (const chunk of stream) {
    if (!body.add(chunk)) break; // leaving the loop destroys the stream
  }
  return body.text();
}
