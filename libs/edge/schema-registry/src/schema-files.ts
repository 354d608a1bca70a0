import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const MARKER = 'message-event.avsc';

/**
 * Finds schemas/ whether we run from the source tree (ts-jest), a webpack bundle in
 * dist/apps/<app>/, or another working directory: HERALD_SCHEMA_DIR wins, then the nearest
 * schemas/ folder above this file, then the one under the working directory.
 */
export function resolveSchemaDir(explicit?: string): string {
  if (explicit) {
    if (!existsSync(join(explicit, MARKER))) {
      throw new Error(`HERALD_SCHEMA_DIR: ${explicit} holds no ${MARKER}`);
    }
    return resolve(explicit);
  }
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'schemas', MARKER))) return join(dir, 'schemas');
    if (dirname(dir) === dir) break;
  }
  const fromCwd = join(process.cwd(), 'schemas');
  if (existsSync(join(fromCwd, MARKER))) return fromCwd;
  throw new Error('Cannot find the schemas/ folder; set HERALD_SCHEMA_DIR');
}

/** Reads schemas/<name>.avsc as the registry wants it: the JSON text. */
export function readSchema(schemaDir: string, name: string): string {
  const file = join(schemaDir, `${name}.avsc`);
  const text = readFileSync(file, 'utf8');
  try {
    JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return text;
}
