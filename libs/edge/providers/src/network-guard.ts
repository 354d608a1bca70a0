import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import {
  allowedHost,
  blockedAddress,
  literalAddress,
  STRICT_DESTINATIONS,
  type DestinationPolicy,
} from '@herald/destinations';
import { BLOCKED_DESTINATION_CODE } from '@herald/error-classification';

/**
 * The network guard of every HTTP/1.1 and HTTP/2 provider call. A URL whose host is an address
 * is checked before any connection; a name is checked where it is resolved, in the socket's
 * own lookup, so the address checked is the address connected to (a DNS answer that changes
 * between a check and the connect, "DNS rebinding", gains nothing). The rules are
 * libs/domain/destinations; the policy is the process's, set once at start from
 * HERALD_ALLOW_PRIVATE_NETWORKS and HERALD_NETWORK_ALLOWLIST (strict until then).
 */

let policy: DestinationPolicy = STRICT_DESTINATIONS;

/** Read at every check and every resolution, so it applies to pooled connections' next dial. */
export function setDestinationPolicy(next: DestinationPolicy): void {
  policy = next;
}

export class BlockedDestinationError extends Error {
  readonly code = BLOCKED_DESTINATION_CODE;

  constructor(host: string, reason: string) {
    super(`refused to call ${host}: ${reason} (HERALD_NETWORK_ALLOWLIST allows it)`);
    this.name = 'BlockedDestinationError';
  }
}

/** Throws BlockedDestinationError for a URL whose host is a refused address. */
export function checkDestination(url: string): void {
  const { hostname } = new URL(url);
  if (allowedHost(hostname, policy)) return;
  const address = literalAddress(hostname);
  const reason = address === null ? null : blockedAddress(address, policy);
  if (reason) throw new BlockedDestinationError(hostname, reason);
}

/** net.connect's `lookup`: resolves, then keeps only the addresses the policy allows. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const all: LookupAllOptions = { ...options, all: true };
  dnsLookup(hostname, all, (error, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const usable = allowedHost(hostname, policy)
      ? addresses
      : addresses.filter(({ address }) => blockedAddress(address, policy) === null);
    if (usable.length === 0) {
      const reason = blockedAddress(addresses[0]?.address ?? '', policy) ?? 'no address';
      callback(new BlockedDestinationError(hostname, reason), '', 0);
      return;
    }
    if (options.all) {
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, usable);
    } else {
      callback(null, usable[0]!.address, usable[0]!.family);
    }
  });
};
