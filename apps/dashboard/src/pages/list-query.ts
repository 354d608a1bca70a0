import { BadRequestException } from '@nestjs/common';
import { InvalidQueryError, parseListQuery, type ListQuery } from '@herald/read-model';

/**
 * A list page's query as the read API validates it (the message list's filters, the feed's
 * cursor); a bad parameter is a 400 page naming it.
 */
export function listQueryOr400(query: Record<string, unknown>): ListQuery {
  try {
    return parseListQuery(query);
  } catch (error) {
    if (error instanceof InvalidQueryError) {
      throw new BadRequestException(
        error.issues.map((issue) => `${issue.field} ${issue.problem}`).join('; '),
      );
    }
    throw error;
  }
}
