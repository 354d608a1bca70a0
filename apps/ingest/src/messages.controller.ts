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
import { parseMessageRequest, requestProblem } from '@herald/decisions';
import { POLICIES, PROVIDERS } from '@herald/platform';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import { PublishDeadlineError, RequestPublisher } from '@herald/kafka';

/**
 * POST /v1/messages puts the request on herald.messages.requested, the same path as a request
 * produced by any other program: ingest's consumer then deduplicates and queues it. 202 means
 * the request is durably in Kafka, not that it was delivered.
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
  async create(@Body() body: unknown): Promise<{ messageId: string; status: 'accepted' }> {
    const parsed = parseMessageRequest(body, Date.now(), randomUUID);
    if ('problems' in parsed) throw badRequest(parsed.problems);
    const { request } = parsed;
    const problem = requestProblem(request, { providers: this.providers, policies: this.policies });
    if (problem) throw badRequest([{ field: problem.field, problem: problem.problem }]);

    try {
      await this.publisher.publish(request);
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

function badRequest(problems: { field: string; problem: string }[]): HttpException {
  return new HttpException(
    { error: 'invalid_request', message: 'The request has invalid fields', problems },
    HttpStatus.BAD_REQUEST,
  );
}
