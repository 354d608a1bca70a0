/**
 * The read model must store on FerretDB v1 as well as MongoDB. FerretDB v1 refuses document keys
 * that contain `.` or start with `$`, and strings that contain NUL. Maps whose keys come from
 * outside (request metadata, provider headers) are therefore stored as name/value pairs, and
 * free text is stored with NUL replaced by U+FFFD. The API turns the pairs back into objects.
 */

import type { DeliveryError } from '@herald/messages';

export interface StoredPair {
  name: string;
  value: string;
}

export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

export function toPairs(map: Record<string, string>): StoredPair[] {
  return Object.entries(map).map(([name, value]) => ({
    name: storableText(name),
    value: storableText(value),
  }));
}

export function fromPairs(pairs: readonly StoredPair[] | null): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { name, value } of pairs ?? []) {
    // defineProperty, so a pair named __proto__ stays data instead of replacing the prototype.
    Object.defineProperty(map, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return map;
}

export function storableError(error: DeliveryError): DeliveryError {
  return {
    category: error.category,
    code: storableText(error.code),
    message: storableText(error.message),
  };
}
