import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ServiceName } from '@herald/config';
import { REPO_ROOT } from './infra';

/** A Herald service, or the provider simulator (a tool, built to dist/tools/). */
export type AppName = ServiceName | 'provider-sim';

/** Where `npm run build` puts an app's bundle. */
export function entryOf(name: AppName): string {
  const folder = name === 'provider-sim' ? 'tools' : 'apps';
  return join(REPO_ROOT, 'dist', folder, name, 'main.js');
}

/** The bundle of a built app; throws, saying what to run, when it is missing. */
export function builtEntry(name: AppName): string {
  const entry = entryOf(name);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

/** What an app's bundle is built from: its own folder, every lib and the build settings. */
function sourcesOf(name: AppName): string[] {
  const own = name === 'provider-sim' ? join('tools', name) : join('apps', name);
  return [own, 'libs', 'package-lock.json', 'tsconfig.json', 'nest-cli.json'];
}

/**
 * A source of the app modified after its bundle was built (relative to the checkout), or
 * undefined when the bundle is current. Missing bundles count as stale (the entry is named).
 */
export function staleSource(name: AppName): string | undefined {
  const entry = entryOf(name);
  if (!existsSync(entry)) return relative(REPO_ROOT, entry);
  const builtAt = statSync(entry).mtimeMs;
  for (const source of sourcesOf(name)) {
    const found = newerThan(join(REPO_ROOT, source), builtAt);
    if (found) return relative(REPO_ROOT, found);
  }
  return undefined;
}

function newerThan(path: string, than: number): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return stat.mtimeMs > than ? path : undefined;
  for (const entry of readdirSync(path)) {
    const found = newerThan(join(path, entry), than);
    if (found) return found;
  }
  return undefined;
}
