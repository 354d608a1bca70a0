import { isTenantId } from '@herald/access';
import type { ApiKeyStore, ApiKeySummary } from '@herald/auth';
import { iso } from '@herald/read-model';

/** `keys create|list|revoke`: what each prints, apart from where the store comes from. */

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const KEYS_USAGE = [
  'usage: npm run herald -- keys create --tenant <tenant> [--json]',
  '       npm run herald -- keys list [--json]',
  '       npm run herald -- keys revoke <key id>',
].join('\n');

/** Runs one `keys` command; resolves to the process's exit code. */
export async function runKeysCommand(
  args: readonly string[],
  store: ApiKeyStore,
  io: Output,
  now: number,
): Promise<number> {
  const [command, ...rest] = args;
  const json = rest.includes('--json');
  const positional = rest.filter((arg) => arg !== '--json');

  if (command === 'create') {
    const at = positional.indexOf('--tenant');
    const tenantId = at >= 0 ? positional[at + 1] : undefined;
    if (tenantId === undefined || !isTenantId(tenantId)) {
      io.err('keys create: --tenant <tenant> is required (1-255 letters, digits or . _ ~ -)');
      return 2;
    }
    const { key, summary } = await store.create(tenantId, now);
    if (json) {
      io.out(JSON.stringify({ ...summaryJson(summary), key }));
    } else {
      io.out(`Created ${summary.id} for tenant ${tenantId}.`);
      io.out(`Secret key (shown once; Herald keeps only its hash): ${key}`);
      io.out(`Use it as: Authorization: Bearer ${key}`);
    }
    return 0;
  }

  if (command === 'list') {
    const keys = await store.list();
    if (json) {
      io.out(JSON.stringify(keys.map(summaryJson)));
      return 0;
    }
    if (keys.length === 0) {
      io.out('No keys yet: npm run herald -- keys create --tenant <tenant>');
      return 0;
    }
    const rows = keys.map((key) => [
      key.id,
      key.tenantId,
      key.source,
      iso(key.createdAt) ?? '-',
      iso(key.lastUsedAt) ?? 'never',
      iso(key.revokedAt) ?? '-',
    ]);
    const header = ['ID', 'TENANT', 'SOURCE', 'CREATED', 'LAST USED', 'REVOKED'];
    const widths = header.map((title, i) =>
      Math.max(title.length, ...rows.map((r) => r[i]!.length)),
    );
    for (const row of [header, ...rows]) {
      io.out(
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    }
    return 0;
  }

  if (command === 'revoke') {
    const id = positional[0];
    if (id === undefined) {
      io.err('keys revoke: name the key id (see keys list)');
      return 2;
    }
    const result = await store.revoke(id, now);
    if (result === 'not_found') {
      io.err(`keys revoke: no key with id ${id}`);
      return 1;
    }
    io.out(
      result === 'revoked'
        ? `Revoked ${id}: every service refuses it within 10 seconds.`
        : `${id} was already revoked.`,
    );
    return 0;
  }

  io.err(KEYS_USAGE);
  return 2;
}

function summaryJson(summary: ApiKeySummary) {
  return {
    id: summary.id,
    tenantId: summary.tenantId,
    source: summary.source,
    createdAt: iso(summary.createdAt),
    lastUsedAt: iso(summary.lastUsedAt),
    revokedAt: iso(summary.revokedAt),
  };
}
