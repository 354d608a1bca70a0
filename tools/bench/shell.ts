/**
 * Commands the bench runs in the checkout (git, npm, redis-server --version):
 * their output captured, or passed through to stderr so stdout keeps only the results.
 */

import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '@tools/harness';

export function runCommand(
  command: string,
  args: string[],
  options: { inherit?: boolean } = {},
): { status: number; stdout: string } {
  const result = spawnSync(command, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    // Progress (npm run build's) goes to our stderr, so stdout keeps only the results.
    stdio: options.inherit
      ? ['ignore', process.stderr, process.stderr]
      : ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status ?? 1, stdout: result.stdout ?? '' };
}
