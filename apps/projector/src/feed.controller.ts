import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { feedFilter, LIST_SORT, toApiFeedPage } from '@herald/read-model';
import { listQueryOr400 } from './read-api.controller';
import { ReadModelStore } from '@herald/mongo';

/** The in-app channel's read side: a recipient's feed, newest first, cursor-paged. */
@Controller('v1/recipients')
export class FeedController {
  constructor(@Inject(ReadModelStore) private readonly store: ReadModelStore) {}

  @Get(':recipient/feed')
  async feed(@Param('recipient') recipient: string, @Query() query: Record<string, unknown>) {
    // The feed pages exactly like the message list; only cursor and limit apply.
    const page = listQueryOr400({ cursor: query.cursor, limit: query.limit });
    const docs = await this.store.feed
      .find(feedFilter(recipient, page.cursor))
      .sort(LIST_SORT)
      .limit(page.limit + 1)
      .toArray();
    return toApiFeedPage(docs, page.limit);
  }
}
