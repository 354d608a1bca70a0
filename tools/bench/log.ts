/**
 * The bench's progress lines: on stderr, stamped with the time since the bench started, so
 * stdout keeps only the results.
 */

const benchStart = Date.now();

/** Seconds since the bench started. */
export function wallSeconds(): number {
  return (Date.now() - benchStart) / 1000;
}

export function say(line: string): void {
  const elapsed = Math.round(wallSeconds());
  const stamp = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, '0')}`;
  process.stderr.write(`[bench ${stamp}] ${line}\n`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
