import {
  Body,
  Controller,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Post,
} from '@nestjs/common';
import type { Producer } from 'kafkajs';

import { AVRO_CODEC, POLICIES, PRODUCER, PROVIDERS } from '@herald/platform';
import type { ProviderRegistry } from '@herald/providers';
import type { PolicyRegistry } from '@herald/retry-policy';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { parseMessageRequest, requestProblem } from '@herald/pipeline';

/**
 * POST /v1/messages puts the request on herald.messages.requested, the same path as a request
 * produced by any other program: ingest's consumer then deduplicates and queues it. 202 means
 * the request is durably in Kafka, not that it was delivered.
 */
@Controller('v1/messages')
export class MessagesController {
  constructor(
    @Inject(PRODUCER) private readonly producer: Producer,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(PROVIDERS) private readonly providers: ProviderRegistry,
    @Inject(POLICIES) private readonly policies: PolicyRegistry,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(@Body() body: unknown): Promise<{ messageId: string; status: 'accepted' }> {
    const parsed = parseMessageRequest(body, Date.now());
    if ('problems' in parsed) throw badRequest(parsed.problems);
    const { request } = parsed;
    const problem = requestProblem(request, { providers: this.providers, policies: this.policies });
    if (problem) throw badRequest([{ field: problem.field, problem: problem.problem }]);

    const topic = TOPICS.messagesRequested.name;
    const value = await this.codec.encode(topic, request);
    await withDeadline(
      this.producer.send({ topic, acks: -1, messages: [{ key: request.messageId, value }] }),
      SEND_DEADLINE_MS,
    );
    return { messageId: request.messageId, status: 'accepted' };
  }
}

/** How long a caller waits for Kafka before getting 503 (the producer itself retries forever). */
const SEND_DEADLINE_MS = 10_000;

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HttpException(
            { error: 'unavailable', message: `Kafka did not acknowledge within ${ms} ms; retry` },
            HttpStatus.SERVICE_UNAVAILABLE,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function badRequest(problems: { field: string; problem: string }[]): HttpException {
  return new HttpException(
    { error: 'invalid_request', message: 'The request has invalid fields', problems },
    HttpStatus.BAD_REQUEST,
  );
}
