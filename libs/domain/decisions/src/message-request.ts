import { z } from 'zod';
import { CHANNELS, type MessageRequested } from '@herald/messages';
import { REQUEST_LIMITS, requestBoundsProblems } from './request-bounds';

const stringMap = z.record(z.string(), z.string({ message: 'values must be strings' }));

/**
 * The JSON body of POST /v1/messages: MessageRequested's fields, with the ones a caller may
 * leave out given defaults (a generated messageId, tenant `default`, now).
 */
export const messageRequestBody = z
  .object({
    messageId: z.string().trim().min(1).max(REQUEST_LIMITS.idLength).optional(),
    tenantId: z.string().trim().min(1).max(REQUEST_LIMITS.idLength).default('default'),
    channel: z.enum(CHANNELS),
    // One provider, or a failover chain (`providers`, the first tried first); at least one.
    provider: z.string().trim().min(1).max(REQUEST_LIMITS.nameLength).optional(),
    // `[]` means just `provider`, as in the Avro record.
    providers: z
      .array(z.string().trim().min(1).max(REQUEST_LIMITS.nameLength))
      .max(REQUEST_LIMITS.providers)
      .optional(),
    recipient: z.string().trim().min(1).max(REQUEST_LIMITS.recipientLength),
    content: stringMap,
    retryPolicy: z.string().trim().min(1).max(REQUEST_LIMITS.nameLength).nullable().default(null),
    metadata: stringMap.default({}),
    requestedAt: z.union([z.number().int().positive(), z.iso.datetime()]).optional(),
  })
  .strict()
  .refine((body) => body.provider !== undefined || (body.providers?.length ?? 0) > 0, {
    path: ['provider'],
    message: 'is required (or a non-empty providers)',
    // Reported with the other fields' problems, not only once they all pass.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

export interface FieldProblem {
  field: string;
  problem: string;
}

export function parseMessageRequest(
  body: unknown,
  now: number,
  /** Makes the messageId of a request that names none. */
  newId: () => string,
): { request: MessageRequested } | { problems: FieldProblem[] } {
  const parsed = messageRequestBody.safeParse(body);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({
        field: issue.path.length > 0 ? issue.path.join('.') : (issueField(issue) ?? '(body)'),
        problem: issue.message,
      })),
    };
  }
  const value = parsed.data;
  // The refinement above makes sure there is one.
  const provider = value.provider ?? value.providers?.[0] ?? '';
  const request: MessageRequested = {
    messageId: value.messageId ?? newId(),
    tenantId: value.tenantId,
    channel: value.channel,
    provider,
    providers: value.providers ?? [],
    recipient: value.recipient,
    content: value.content,
    retryPolicy: value.retryPolicy,
    metadata: value.metadata,
    requestedAt:
      value.requestedAt === undefined
        ? now
        : typeof value.requestedAt === 'number'
          ? value.requestedAt
          : Date.parse(value.requestedAt),
  };
  // The bounds a Kafka record is held to as well (request-bounds.ts).
  const problems = requestBoundsProblems(request, now);
  return problems.length > 0 ? { problems } : { request };
}

/** Unknown keys are reported on the object; name the first one so the caller sees the typo. */
function issueField(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
}
