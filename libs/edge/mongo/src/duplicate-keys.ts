/** MongoDB's (and FerretDB's) code for a write refused by a unique index. */
export const DUPLICATE_KEY = 11000;

interface WriteFailure {
  code?: unknown;
  writeErrors?: WriteError[] | WriteError;
}
interface WriteError {
  code?: unknown;
  index?: unknown;
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as WriteFailure | null)?.code === DUPLICATE_KEY;
}

/**
 * Which documents of an unordered insertMany of `count` documents were refused as duplicates.
 * Any other failure is rethrown: only "already there" is an answer, the rest is trouble.
 */
export function duplicateIndexes(error: unknown, count: number): number[] {
  const e = error as WriteFailure;
  const writeErrors = Array.isArray(e.writeErrors)
    ? e.writeErrors
    : e.writeErrors
      ? [e.writeErrors]
      : [];
  if (writeErrors.length === 0) {
    // A lone document's duplicate may come back as a plain 11000 error.
    if (isDuplicateKey(error) && count === 1) return [0];
    throw error;
  }
  const indexes: number[] = [];
  for (const w of writeErrors) {
    if (w.code !== DUPLICATE_KEY || typeof w.index !== 'number') throw error;
    indexes.push(w.index);
  }
  return indexes;
}
