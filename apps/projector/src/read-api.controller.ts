import { Controller, Get, HttpException, HttpStatus, Inject, Param, Query } from '@nestjs/common';
import type { Principal } from '@herald/access';
import { CurrentPrincipal } from '@herald/platform';
import {
  InvalidQueryError,
  parseListQuery,
  toApiEvent,
  toApiLog,
  toApiMessage,
  toApiPage,
  type ApiLog,
  type ListQuery,
} from '@herald/read-model';
import { ReadModelStore } from '@herald/mongo';

/**
 * The read API of CONTRACT.md, served from the read model. Every read is the caller's tenant's
 * (the key's): a message of another tenant is looked up by a key it does not have, so it answers
 * 404 exactly like an id nobody used.
 */
@Controller('v1/messages')
export class ReadApiController {
  constructor(@Inject(ReadModelStore) private readonly store: ReadModelStore) {}

  @Get()
  async list(@CurrentPrincipal() caller: Principal, @Query() query: Record<string, unknown>) {
    const parsed = listQueryOr400(query);
    return toApiPage(await this.store.list(caller.tenantId, parsed), parsed.limit);
  }

  @Get(':id')
  async get(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return toApiMessage(await this.messageOr404(caller, id));
  }

  @Get(':id/events')
  async events(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    const docs = await this.store.timeline(await this.messageOr404(caller, id));
    return { messageId: id, events: docs.map(toApiEvent) };
  }

  @Get(':id/logs')
  async logs(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    const docs = await this.store.timeline(await this.messageOr404(caller, id));
    return {
      messageId: id,
      logs: docs.map(toApiLog).filter((log): log is ApiLog => log !== null),
    };
  }

  private async messageOr404(caller: Principal, id: string) {
    const doc = await this.store.message(caller.tenantId, id);
    if (!doc) {
      throw new HttpException(
        { error: 'not_found', message: `No message with id '${id}'` },
        HttpStatus.NOT_FOUND,
      );
    }
    return doc;
  }
}

/** The list query, or a 400 naming every bad parameter. */
export function listQueryOr400(query: Record<string, unknown>): ListQuery {
  try {
    return parseListQuery(query);
  } catch (error) {
    if (error instanceof InvalidQueryError) {
      throw new HttpException(
        { error: 'invalid_query', message: error.message, problems: error.issues },
        HttpStatus.BAD_REQUEST,
      );
    }
    throw error;
  }
}
