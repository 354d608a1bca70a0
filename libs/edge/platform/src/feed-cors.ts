import cors from 'cors';
import type { RequestHandler } from 'express';

/** GET /v1/recipients/{recipient}/feed, the one endpoint a browser reads across origins. */
const FEED_PATH = /^\/v1\/recipients\/[^/]+\/feed$/;

/**
 * CORS for the in-app feed only, and only for the origins HERALD_FEED_CORS_ORIGINS lists (none by
 * default: no CORS headers at all). The `cors` package (the one Nest's enableCors uses) answers
 * preflights and sets the headers; every other path gets no CORS headers, so a browser page
 * can never call the POST or the read API with a secret key it should not have.
 */
export function feedCors(origins: readonly string[]): RequestHandler | null {
  if (origins.length === 0) return null;
  const allowed = origins.includes('*') ? '*' : [...origins];
  const forFeed = cors({
    origin: allowed,
    methods: ['GET'],
    allowedHeaders: ['Authorization'],
    maxAge: 600,
  });
  return (request, response, next) => {
    if (FEED_PATH.test(request.path)) forFeed(request, response, next);
    else next();
  };
}
