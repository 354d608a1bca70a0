import express from 'express';
import helmet from 'helmet';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { HeraldConfig } from '@herald/config';
import { resolveDashboardDir } from './views';

/** A sign-in or control form is a few short fields; nothing bigger is read. */
const FORM_LIMIT = '8kb';

/**
 * What the dashboard adds to Express: security headers on every answer, form bodies, and its
 * own static assets (the stylesheet and the small refresh script, both served from here: the
 * policy below allows no other origin and no inline script or style).
 */
export function configureDashboardHttp(app: NestExpressApplication, config: HeraldConfig): void {
  app.use(helmet(DASHBOARD_HELMET));
  app.useBodyParser('urlencoded', { extended: false, limit: FORM_LIMIT });
  // HTTPS is usually ended at a proxy: HERALD_DASHBOARD_TRUST_PROXY=1 lets req.secure see it.
  if (config.dashboard.trustProxy) app.set('trust proxy', 1);
  app.use(
    '/assets',
    express.static(resolveDashboardDir('public'), {
      index: false,
      fallthrough: false,
      maxAge: '1h',
    }),
  );
}

/** Exported for the unit test that reads the policy back. */
export const DASHBOARD_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
  // Cross-origin isolation headers would refuse nothing the dashboard does; kept at helmet's defaults.
};
