import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
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

/**
 * What an app's bundle is built from: its own folder and the build settings, and every lib for
 * a service (the simulator uses none, so that a lib's change does not rebuild it).
 */
function sourcesOf(name: AppName): string[] {
  const settings = ['package-lock.json', 'tsconfig.json', 'nest-cli.json'];
  if (name === 'provider-sim') return [join('tools', name), ...settings];
  return [join('apps', name), 'libs', ...settings];
}

/** `nest build <app>`, its output appended to `logFile`; whether it succeeded. */
export function buildApp(name: AppName, logFile: string): boolean {
  const fd = openSync(logFile, 'a');
  try {
    const nest = join(REPO_ROOT, 'node_modules', '.bin', 'nest');
    const result = spawnSync(nest, ['build', name], { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] });
    return result.status === 0;
  } finally {
    closeSync(fd);
  }
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
