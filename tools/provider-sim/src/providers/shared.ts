import { randomUUID } from 'node:crypto';
import { type IncomingHttpHeaders } from 'node:http';

/** Small readers shared by the provider routes: untyped JSON, auth headers, ids. */

/** Follows keys and indexes through untyped JSON; undefined as soon as one step is missing. */
export function at(value: unknown, ...steps: ReadonlyArray<string | number>): unknown {
  let current = value;
  for (const step of steps) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** A non-empty string, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), if any. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(header(headers, 'authorization') ?? '');
  return match?.[1];
}

/** The user and password of `Authorization: Basic <base64>`, if well formed. */
export function basicAuth(
  headers: IncomingHttpHeaders,
): { user: string; password: string } | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header(headers, 'authorization') ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** 32 lower-case hex digits; randomUUID draws from a cached entropy pool, so it stays cheap. */
export function randomHex32(): string {
  return randomUUID().replace(/-/g, '');
}

/** Decodes a JWT's header and payload without verifying it: the simulator holds no keys. */
export function decodeJwt(
  token: string,
): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) {
    return undefined;
  }
  try {
    const [header, payload] = [parts[0], parts[1]].map(
      (part) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown,
    );
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload };
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A segment of a matched path, decoded; undefined when it is not valid percent-encoding. */
export function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined || segment === '') return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
