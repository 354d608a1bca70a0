import { readFileSync } from 'node:fs';
import {
  parsePolicyFile,
  PolicyFileError,
  policyFileFormat,
  PolicyRegistry,
} from '@herald/retry-policy';

// Reading the policies file is the edge's part; parsing and checking its text is the domain's
// (libs/domain/retry-policy/src/policy-file.ts).

/**
 * The built-in policies with the file's on top (a policy of the same name replaces the built-in
 * as a whole). Without a file, just the built-ins.
 */
export function loadPolicyRegistry(file?: string | null): PolicyRegistry {
  if (file === undefined || file === null || file.trim() === '') {
    return PolicyRegistry.withBuiltIns();
  }
  policyFileFormat(file);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    // Not `instanceof Error`: errors from node:fs can come from another realm (jest's sandbox).
    const reason = String((error as { message?: unknown } | null)?.message ?? error);
    throw new PolicyFileError(file, [{ problem: `cannot read the file: ${reason}` }]);
  }
  return PolicyRegistry.withBuiltIns(parsePolicyFile(source, file));
}
