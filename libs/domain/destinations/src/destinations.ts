import ipaddr from 'ipaddr.js';

/**
 * Which network addresses Herald may call. Webhook URLs come from callers, so without a rule
 * a caller could make Herald call its own network (loopback, private ranges, the cloud metadata
 * service) and read the answer back in /logs. Only public unicast addresses are allowed, unless
 * the operator allows private networks (the tests, the demo and the bench, whose simulator is
 * on loopback) or names hosts or CIDRs in the allowlist. ipaddr.js classifies the ranges.
 */

export interface DestinationPolicy {
  /** HERALD_ALLOW_PRIVATE_NETWORKS: every address is allowed. */
  allowPrivateNetworks: boolean;
  /** HERALD_NETWORK_ALLOWLIST: hostnames (exact, lower case) and CIDRs always allowed. */
  allowedHosts: readonly string[];
  allowedCidrs: readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[];
}

export const STRICT_DESTINATIONS: DestinationPolicy = {
  allowPrivateNetworks: false,
  allowedHosts: [],
  allowedCidrs: [],
};

/** Parses HERALD_NETWORK_ALLOWLIST: `host,10.0.0.0/8,fd00::/8,…`. */
export function parseAllowlist(
  text: string | undefined,
): Pick<DestinationPolicy, 'allowedHosts' | 'allowedCidrs'> | { problem: string } {
  const allowedHosts: string[] = [];
  const allowedCidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const entry of (text ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    if (entry.includes('/')) {
      try {
        allowedCidrs.push(ipaddr.parseCIDR(entry));
      } catch {
        return { problem: `'${entry}' is not a CIDR (like 10.0.0.0/8 or fd00::/8)` };
      }
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      allowedCidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^[a-z0-9.-]{1,253}$/i.test(entry)) {
      allowedHosts.push(entry.toLowerCase());
    } else {
      return { problem: `'${entry}' is neither a hostname, an address nor a CIDR` };
    }
  }
  return { allowedHosts, allowedCidrs };
}

/** Why an address may not be called, or null when it may. */
export function blockedAddress(address: string, policy: DestinationPolicy): string | null {
  if (policy.allowPrivateNetworks) return null;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return `'${address}' is not an IP address`;
  }
  // ::ffff:127.0.0.1 is 127.0.0.1: judge the IPv4 address it carries.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  if (
    policy.allowedCidrs.some(
      ([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits),
    )
  ) {
    return null;
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  return `${parsed.toString()} is a ${RANGE_NAMES[range] ?? range} address`;
}

/** Whether the operator named this host, so its addresses are not checked. */
export function allowedHost(hostname: string, policy: DestinationPolicy): boolean {
  return policy.allowPrivateNetworks || policy.allowedHosts.includes(hostname.toLowerCase());
}

/** A URL's host as an address, when it is one (`[::1]` → `::1`), else null (a name). */
export function literalAddress(hostname: string): string | null {
  const bare =
    hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare))
    ? bare
    : null;
}

const RANGE_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private-network',
  linkLocal: 'link-local (cloud metadata)',
  carrierGradeNat: 'carrier-grade NAT',
  uniqueLocal: 'IPv6 unique-local',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  reserved: 'reserved',
};
