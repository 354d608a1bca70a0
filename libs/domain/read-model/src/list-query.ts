/**
 * Listing messages: query validation, keyset paging and the MongoDB filter. Newest first, by
 * (createdAt, _id) descending; a cursor names the last item of a page and means "strictly after
 * it in that order", so paging stays stable while new messages arrive. The filter uses only
 * equality, $lt and $or, which FerretDB v1 supports as well as MongoDB.
 */

import { CHANNELS, type Channel, DELIVERY_STATUSES, type DeliveryStatus } from '@herald/messages';

export interface ListCursor {
  createdAt: number;
  id: string;
}

export interface ListQuery {
  status?: DeliveryStatus;
  channel?: Channel;
  recipient?: string;
  provider?: string;
  cursor?: ListCursor;
  limit: number;
}

/** A page's filter: always one tenant's messages (the caller's key's), then the query's own. */
export type ListFilterInput = Omit<ListQuery, 'limit'> & { tenantId: string };

export interface QueryIssue {
  field: string;
  problem: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('not a cursor this API issued');
    this.name = 'InvalidCursorError';
  }
}

export class InvalidQueryError extends Error {
  constructor(readonly issues: QueryIssue[]) {
    super(`invalid query: ${issues.map((i) => `${i.field} ${i.problem}`).join('; ')}`);
    this.name = 'InvalidQueryError';
  }
}

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
const MAX_TEXT_LENGTH = 2048;
const MAX_CURSOR_LENGTH = 4096;

export const LIST_SORT = { createdAt: -1, _id: -1 } as const;

/** Every list filter is the tenant, an optional equality, then the sort key. */
export const MESSAGE_INDEXES = [
  { name: 'tenant_created', key: { tenantId: 1, createdAt: -1, _id: -1 } },
  { name: 'tenant_status_created', key: { tenantId: 1, status: 1, createdAt: -1, _id: -1 } },
  { name: 'tenant_channel_created', key: { tenantId: 1, channel: 1, createdAt: -1, _id: -1 } },
  {
    name: 'tenant_recipient_created',
    key: { tenantId: 1, recipient: 1, createdAt: -1, _id: -1 },
  },
  { name: 'tenant_provider_created', key: { tenantId: 1, provider: 1, createdAt: -1, _id: -1 } },
] as const;

export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): ListCursor {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new InvalidCursorError();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError();
  const [createdAt, id] = parsed as unknown[];
  if (!Number.isSafeInteger(createdAt) || typeof id !== 'string' || id.length === 0) {
    throw new InvalidCursorError();
  }
  const cursor = { createdAt: createdAt as number, id };
  // Only the exact text we would have issued is accepted, so a cursor has one spelling.
  if (encodeCursor(cursor) !== text) throw new InvalidCursorError();
  return cursor;
}

export function listFilter(input: ListFilterInput): Record<string, unknown> {
  const filter: Record<string, unknown> = { tenantId: input.tenantId };
  if (input.status !== undefined) filter.status = input.status;
  if (input.channel !== undefined) filter.channel = input.channel;
  if (input.recipient !== undefined) filter.recipient = input.recipient;
  if (input.provider !== undefined) filter.provider = input.provider;
  if (input.cursor !== undefined) {
    const { createdAt, id } = input.cursor;
    filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: id } }];
  }
  return filter;
}

/**
 * Validates the list endpoint's query string as Express parses it. Empty values count as
 * absent and unknown parameters are ignored, as Knock's and Courier's list endpoints do; every
 * problem found is reported, each naming its field.
 */
export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const issues: QueryIssue[] = [];
  const result: ListQuery = { limit: DEFAULT_LIST_LIMIT };

  const text = (field: string): string | undefined => {
    const value = query[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (Array.isArray(value)) {
      issues.push({ field, problem: 'must be given at most once' });
    } else if (typeof value !== 'string') {
      issues.push({ field, problem: 'must be a string' });
    } else if (value.length > MAX_TEXT_LENGTH) {
      issues.push({ field, problem: `must be at most ${MAX_TEXT_LENGTH} characters` });
    } else {
      return value;
    }
    return undefined;
  };

  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T | undefined => {
    const value = text(field);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    issues.push({ field, problem: `must be one of ${allowed.join(', ')}` });
    return undefined;
  };

  const status = oneOf('status', DELIVERY_STATUSES);
  if (status !== undefined) result.status = status;
  const channel = oneOf('channel', CHANNELS);
  if (channel !== undefined) result.channel = channel;
  const recipient = text('recipient');
  if (recipient !== undefined) result.recipient = recipient;
  const provider = text('provider');
  if (provider !== undefined) result.provider = provider;

  const limitValue = typeof query.limit === 'number' ? String(query.limit) : text('limit');
  if (limitValue !== undefined) {
    const limit = /^\d{1,4}$/.test(limitValue) ? Number(limitValue) : NaN;
    if (limit >= 1 && limit <= MAX_LIST_LIMIT) result.limit = limit;
    else issues.push({ field: 'limit', problem: `must be an integer from 1 to ${MAX_LIST_LIMIT}` });
  }

  const cursor = text('cursor');
  if (cursor !== undefined) {
    try {
      result.cursor = decodeCursor(cursor);
    } catch (error) {
      if (!(error instanceof InvalidCursorError)) throw error;
      issues.push({ field: 'cursor', problem: 'is not a cursor this API issued' });
    }
  }

  if (issues.length > 0) throw new InvalidQueryError(issues);
  return result;
}
