import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ReadModelStore } from '@herald/mongo';
import { toApiFeedPage } from '@herald/read-model';
import { CurrentSession, type SignedIn } from '../sessions/dashboard-session';
import { SessionPages } from '../sessions/session.guard';
import { HtmlPage, Views } from '../views';
import { listQueryOr400 } from './list-query';
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
  @HtmlPage()
  async feed(
    @CurrentSession() session: SignedIn,
    @Query('recipient') recipient: unknown,
    @Query('cursor') cursor: unknown,
  ) {
    const who = typeof recipient === 'string' ? recipient.trim() : '';
    let page = null;
    let nextLink = null;
    if (who) {
      // The feed pages like the message list: only the cursor applies.
      const paging = listQueryOr400({ cursor });
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
