import type { Type } from 'avsc';

/**
 * Avro writes a map or an array as blocks, each led by its item count. avsc 5.7.9 reads a
 * block's items one by one even once the bytes have run out, and fails only at the end: a
 * record of a few bytes claiming 2^40 entries keeps a service's event loop busy for hours (the
 * fuzz found it, ~13 ns per claimed entry), with its HTTP and its health checks. So before avsc
 * decodes a record, this walks its bytes once by the writer's schema and refuses a block that
 * claims more items than the bytes left could hold: the record is bad, and is dead-lettered like
 * any other undecodable one.
 */
export function checkBlockCounts(type: Type, bytes: Buffer): void {
  try {
    walk(type as unknown as Shape, new Cursor(bytes));
  } catch (error) {
    // A schema with a type this walk does not know is left to avsc unchecked.
    if (!(error instanceof Unchecked)) throw error;
  }
}

export class BlockCountError extends Error {}

class Unchecked extends Error {}

/** Items of a zero-byte type (null, an empty record) take no bytes: their count is capped instead. */
const MAX_EMPTY_ITEMS = 1_000_000;

class Cursor {
  private pos = 0;
  constructor(private readonly bytes: Buffer) {}

  left(): number {
    return this.bytes.length - this.pos;
  }

  skip(count: number): void {
    if (count < 0 || count > this.left()) {
      throw new BlockCountError(`a length of ${count} with ${this.left()} bytes left`);
    }
    this.pos += count;
  }

  /** A zigzag varint (int and long alike); past 2^53 it is only approximate, enough for bounds. */
  long(): number {
    let result = 0;
    let scale = 1;
    for (let read = 0; ; read += 1) {
      if (read >= 10 || this.pos >= this.bytes.length) {
        throw new BlockCountError('a number runs past the end of the record');
      }
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }
}

/** avsc's view of a type, as far as the walk needs it. */
interface Shape {
  typeName: string;
  fields?: { type: Shape }[];
  valuesType?: Shape;
  itemsType?: Shape;
  types?: Shape[];
  size?: number;
  underlyingType?: Shape;
}

function walk(type: Shape, cursor: Cursor): void {
  if (type.underlyingType) return walk(type.underlyingType, cursor); // a logical type
  switch (type.typeName) {
    case 'null':
      return;
    case 'boolean':
      return cursor.skip(1);
    case 'int':
    case 'long':
    case 'enum':
      cursor.long();
      return;
    case 'float':
      return cursor.skip(4);
    case 'double':
      return cursor.skip(8);
    case 'string':
    case 'bytes':
      return cursor.skip(cursor.long());
    case 'fixed':
      return cursor.skip(type.size ?? 0);
    case 'record':
    case 'error':
      for (const field of type.fields ?? []) walk(field.type, cursor);
      return;
    case 'map':
      return blocks(cursor, 1, (c) => {
        c.skip(c.long()); // the key
        walk(type.valuesType!, c);
      });
    case 'array':
      return blocks(cursor, minBytes(type.itemsType!), (c) => walk(type.itemsType!, c));
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branch = type.types?.[cursor.long()];
      if (!branch) throw new BlockCountError('a union branch the schema does not have');
      return walk(branch, cursor);
    }
    default:
      throw new Unchecked(type.typeName);
  }
}

/** Reads blocks until the empty one, refusing a count the bytes left cannot hold. */
function blocks(cursor: Cursor, itemBytes: number, item: (cursor: Cursor) => void): void {
  for (;;) {
    let count = cursor.long();
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      cursor.long(); // the block's size in bytes, which a writer may add
    }
    const room = itemBytes > 0 ? cursor.left() / itemBytes : MAX_EMPTY_ITEMS;
    if (count > room) {
      throw new BlockCountError(`a block claims ${count} items with ${cursor.left()} bytes left`);
    }
    for (let i = 0; i < count; i += 1) item(cursor);
  }
}

/** The fewest bytes a value of the type takes. */
function minBytes(type: Shape): number {
  if (type.underlyingType) return minBytes(type.underlyingType);
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return type.size ?? 0;
    case 'record':
    case 'error':
      return (type.fields ?? []).reduce((sum, field) => sum + minBytes(field.type), 0);
    default:
      return 1; // every varint, length and block terminator takes at least a byte
  }
}
