import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  type OnApplicationShutdown,
  Post,
} from '@nestjs/common';
import { tenantOfRequest, type Principal } from '@herald/access';
import { parseMessageRequest, requestProblem } from '@herald/decisions';
import { CurrentPrincipal, invalidRequest, POLICIES, PROVIDERS } from '@herald/platform';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import { PublishDeadlineError, RequestPublisher } from '@herald/kafka';
import { inSpan, SpanKind } from '@herald/tracing';

/**
 * POST /v1/messages puts the request on herald.messages.requested, the same path as a request
 * produced by any other program: ingest's consumer then deduplicates and queues it. 202 means
 * the request is durably in Kafka, not that it was delivered. The message is the key's tenant's.
 */
@Controller('v1/messages')
export class MessagesController implements OnApplicationShutdown {
  constructor(
    @Inject(RequestPublisher) private readonly publisher: RequestPublisher,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: unknown,
  ): Promise<{ messageId: string; status: 'accepted' }> {
    const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : null;
    // The tenant is the key's; a body may repeat it, never name another.
    const tenant = tenantOfRequest(caller, (fields as { tenantId?: unknown } | null)?.tenantId);
    if ('forbidden' in tenant) {
      throw new HttpException(
        {
          error: 'forbidden',
          message: 'The key cannot send for that tenant',
          problems: [{ field: 'tenantId', problem: tenant.forbidden }],
        },
        HttpStatus.FORBIDDEN,
      );
    }
    const scoped = fields ? { ...fields, tenantId: tenant.tenantId } : body;
    const now = Date.now();
    const parsed = parseMessageRequest(scoped, now, randomUUID);
    if ('problems' in parsed) throw invalidRequest(parsed.problems);
    const { request } = parsed;
    const problem = requestProblem(request, {
      providers: this.providers,
      policies: this.policies,
      now,
    });
    if (problem) throw invalidRequest([{ field: problem.field, problem: problem.problem }]);

    try {
      // The message's trace starts here (with tracing on); the request record carries it on.
      await inSpan(
        'POST /v1/messages',
        {
          kind: SpanKind.SERVER,
          attributes: {
            'herald.message_id': request.messageId,
            'herald.tenant_id': request.tenantId,
            'herald.channel': request.channel,
          },
        },
        () => this.publisher.publish(request),
      );
    } catch (error) {
      if (!(error instanceof PublishDeadlineError)) throw error;
      throw new HttpException(
        { error: 'unavailable', message: error.message },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
    return { messageId: request.messageId, status: 'accepted' };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.disconnect();
  }
}
