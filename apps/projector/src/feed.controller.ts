import { Controller, Get, HttpException, HttpStatus, Inject, Param, Query } from '@nestjs/common';
import {
  feedFilter,
  InvalidQueryError,
  LIST_SORT,
  parseListQuery,
  toApiFeedPage,
} from '@herald/read-model';
import { ReadModelStore } from './read-model-store';

/** The in-app channel's read side: a recipient's feed, newest first, cursor-paged. */
@Controller('v1/recipients')
export class FeedController {
  constructor(@Inject(ReadModelStore) private readonly store: ReadModelStore) {}

  @Get(':recipient/feed')
  async feed(@Param('recipient') recipient: string, @Query() query: Record<string, unknown>) {
    let page;
    try {
      // The feed pages exactly like the message list; only cursor and limit apply.
      page = parseListQuery({ cursor: query.cursor, limit: query.limit });
    } catch (error) {
      if (error instanceof InvalidQueryError) {
        throw new HttpException(
          { error: 'invalid_query', message: error.message, problems: error.issues },
          HttpStatus.BAD_REQUEST,
        );
      }
      throw error;
    }
    const docs = await this.store.feed
      .find(feedFilter(recipient, page.cursor))
      .sort(LIST_SORT)
      .limit(page.limit + 1)
      .toArray();
    return toApiFeedPage(docs, page.limit);
  }
}
