import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { canReadFeed, tokenTtl, type Principal } from '@herald/access';
import { toApiFeedPage } from '@herald/read-model';
import { ReadModelStore } from '@herald/mongo';
import { Access, AcceptsRecipientTokens, CurrentPrincipal, invalidRequest } from '@herald/platform';
import { listQueryOr400 } from './read-api.controller';

/**
 * The in-app channel's read side: a recipient's feed, newest first, cursor-paged, readable with
 * the tenant's secret key or with a recipient token for that recipient (what a browser holds).
 */
@Controller('v1/recipients')
export class FeedController {
  constructor(
    @Inject(ReadModelStore) private readonly store: ReadModelStore,
    @Inject(Access) private readonly access: Access,
  ) {}

  @Get(':recipient/feed')
  @AcceptsRecipientTokens()
  async feed(
    @CurrentPrincipal() caller: Principal,
    @Param('recipient') recipient: string,
    @Query() query: Record<string, unknown>,
  ) {
    // Another recipient's feed answers as if it were empty of this caller's business: 404.
    if (!canReadFeed(caller, recipient)) throw notFound(recipient);
    // The feed pages exactly like the message list; only cursor and limit apply.
    const page = listQueryOr400({ cursor: query.cursor, limit: query.limit });
    const docs = await this.store.feedPage(caller.tenantId, recipient, page);
    return toApiFeedPage(docs, page.limit);
  }

  /** Mints a recipient token (secret keys only: a token cannot mint another). */
  @Post(':recipient/tokens')
  @HttpCode(HttpStatus.CREATED)
  async token(
    @CurrentPrincipal() caller: Principal,
    @Param('recipient') recipient: string,
    @Body() body: unknown,
  ) {
    if (caller.kind !== 'secret_key') throw notFound(recipient);
    const requested = body && typeof body === 'object' ? (body as { expiresIn?: unknown }) : {};
    const ttl = tokenTtl(requested.expiresIn);
    if ('problem' in ttl) throw invalidRequest([{ field: 'expiresIn', problem: ttl.problem }]);
    const tokens = await this.access.recipientTokens();
    const minted = await tokens.mint(
      { tenantId: caller.tenantId, recipient, keyId: caller.keyId, ttlSeconds: ttl.ttlSeconds },
      Date.now(),
    );
    return {
      token: minted.token,
      tenantId: caller.tenantId,
      recipient,
      expiresAt: new Date(minted.expiresAt).toISOString(),
    };
  }
}

function notFound(recipient: string): HttpException {
  return new HttpException(
    { error: 'not_found', message: `No feed for recipient '${recipient}'` },
    HttpStatus.NOT_FOUND,
  );
}
