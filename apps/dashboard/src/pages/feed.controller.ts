import { BadRequestException, Controller, Get, Header, Inject, Query } from '@nestjs/common';
import { ReadModelStore } from '@herald/mongo';
import { InvalidQueryError, parseListQuery, toApiFeedPage } from '@herald/read-model';
import { CurrentSession, type SignedIn } from '../sessions/dashboard-session';
import { SessionPages } from '../sessions/session.guard';
import { Views } from '../views';
import { queryString } from './view-models';

/** A recipient's in-app feed, as GET /v1/recipients/{recipient}/feed answers it. */
@Controller('feed')
@SessionPages()
export class FeedController {
  constructor(
    @Inject(ReadModelStore) private readonly store: ReadModelStore,
    @Inject(Views) private readonly views: Views,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async feed(
    @CurrentSession() session: SignedIn,
    @Query('recipient') recipient: unknown,
    @Query('cursor') cursor: unknown,
  ) {
    const who = typeof recipient === 'string' ? recipient.trim() : '';
    let page = null;
    let nextLink = null;
    if (who) {
      const paging = pageOr400(cursor);
      page = toApiFeedPage(await this.store.feedPage(session.tenantId, who, paging), paging.limit);
      if (page.nextCursor)
        nextLink = `/feed${queryString({ recipient: who, cursor: page.nextCursor })}`;
    }
    return this.views.render('feed', {
      title: who ? `Feed of ${who}` : 'In-app feed',
      section: 'feed',
      refreshSeconds: who ? 5 : 0,
      session,
      recipient: who,
      page,
      nextLink,
    });
  }
}

/** The feed pages like the message list (only cursor and limit apply). */
function pageOr400(cursor: unknown) {
  try {
    return parseListQuery({ cursor });
  } catch (error) {
    if (error instanceof InvalidQueryError) {
      throw new BadRequestException(error.issues.map((i) => `${i.field} ${i.problem}`).join('; '));
    }
    throw error;
  }
}
