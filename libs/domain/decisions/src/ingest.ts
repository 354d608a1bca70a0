import {
  providerChain,
  type DeliveryError,
  type MessageEvent,
  type MessageRequested,
} from '@herald/messages';
import { redactUrl } from '@herald/redaction';
import { maxAttemptsOf, type PolicyRegistry } from '@herald/retry-policy';
import { event } from './event-builder';
import type { ProviderCatalog } from './provider-port';
import { recipientProblem } from './recipient-rules';
import {
  mapBytes,
  REQUEST_LIMITS,
  requestBoundsProblems,
  requestedAtInBounds,
} from './request-bounds';
import { firstTaskOfRun, type DeliveryTask } from './tasks';

export type IngestDecision =
  | { kind: 'queued'; event: MessageEvent; task: DeliveryTask }
  | { kind: 'not_sent'; event: MessageEvent };

/**
 * What ingest does with a decoded request: reject it (`not_sent`, no attempt can help) or
 * queue it with the policy it will be retried under.
 */
export function ingestRequest(
  request: MessageRequested,
  deps: { providers: ProviderCatalog; policies: PolicyRegistry; now: number; newId: () => string },
): IngestDecision {
  // Clipped to the request bounds, which change nothing for a request within them: a refused
  // request's event carries its summary, and an oversized one (a recipient that redaction makes
  // longer, a huge provider name) would make the event too large for Kafka.
  const summary = {
    channel: request.channel,
    provider: request.provider.slice(0, REQUEST_LIMITS.nameLength),
    providers: request.providers
      .slice(0, REQUEST_LIMITS.providers)
      .map((name) => name.slice(0, REQUEST_LIMITS.nameLength)),
    recipient: redactUrl(request.recipient.slice(0, REQUEST_LIMITS.recipientLength)),
    retryPolicy: request.retryPolicy?.slice(0, REQUEST_LIMITS.nameLength) ?? null,
    // A requestedAt out of bounds is refused below; the event carries when it arrived instead,
    // so no stored timestamp is one that cannot be formatted.
    requestedAt: requestedAtInBounds(request.requestedAt, deps.now)
      ? request.requestedAt
      : deps.now,
    metadata: mapBytes(request.metadata) <= REQUEST_LIMITS.mapBytes ? request.metadata : {},
  };
  const base = {
    messageId: request.messageId,
    tenantId: request.tenantId,
    seq: 1,
    occurredAt: deps.now,
    current: null,
    newId: deps.newId,
  };
  const problem = requestProblem(request, deps);
  if (problem) {
    const error: DeliveryError = {
      category: 'non_retryable',
      code: problem.code,
      message: `${problem.field}: ${problem.problem}`,
    };
    return {
      kind: 'not_sent',
      event: event(base, { type: 'not_sent', attempt: 0, error, message: summary }),
    };
  }
  const policy = deps.policies.resolve(request.retryPolicy, request.channel);
  const maxAttempts = maxAttemptsOf(policy.send);
  return {
    kind: 'queued',
    event: event(base, {
      type: 'queued',
      attempt: 0,
      maxAttempts,
      message: { ...summary, retryPolicy: policy.name },
    }),
    task: firstTaskOfRun(request, {
      retryPolicy: policy.name,
      attempt: 1,
      nextSeq: 2,
      now: deps.now,
    }),
  };
}

export interface RequestProblem {
  field: keyof MessageRequested;
  code: string;
  problem: string;
}

/**
 * Why a well-formed request can never be delivered: a bound it breaks (request-bounds.ts), an
 * unknown provider or policy, or a recipient that is not an address of its channel. Ingest's HTTP endpoint answers 400 with it;
 * a request that arrives on Kafka ends `not_sent` with it.
 */
export function requestProblem(
  request: MessageRequested,
  deps: { providers: ProviderCatalog; policies: PolicyRegistry; now: number },
): RequestProblem | null {
  const [bounds] = requestBoundsProblems(request, deps.now);
  if (bounds) {
    return {
      field: bounds.field as keyof MessageRequested,
      code: 'invalid_request',
      problem: bounds.problem,
    };
  }
  const provider = deps.providers.problemWith(request.provider, request.channel);
  if (provider) return { field: 'provider', code: 'unknown_provider', problem: provider };
  for (const fallback of providerChain(request)) {
    const problem = deps.providers.problemWith(fallback, request.channel);
    if (problem) return { field: 'providers', code: 'unknown_provider', problem };
  }
  const recipient = recipientProblem(request.channel, request.recipient);
  if (recipient) return { field: 'recipient', code: 'invalid_recipient', problem: recipient };
  if (request.retryPolicy !== null && !deps.policies.get(request.retryPolicy)) {
    return {
      field: 'retryPolicy',
      code: 'unknown_retry_policy',
      problem: `unknown policy '${request.retryPolicy}' (known: ${deps.policies.names().join(', ')})`,
    };
  }
  return null;
}
