import { randomBytes } from 'node:crypto';
import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpStatus,
  Inject,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import type { HeraldConfig } from '@herald/config';
import { DashboardSessions } from '@herald/mongo';
import { Access, HERALD_CONFIG } from '@herald/platform';
import { HtmlPage, Views } from '../views';
import { CurrentSession, type DashboardRequest, type SignedIn } from './dashboard-session';
import { fromOurPages, PublicPages, SessionPages } from './session.guard';
import { clearedCookies, cookieIsSecure, sessionCookie } from './session-rules';

const newToken = () => randomBytes(32).toString('base64url');

/**
 * Sign-in with a tenant's secret key, taken from the form's body only (never a URL), checked
 * like the API's bearer keys, and exchanged for a fresh session: a session id is never reused
 * across sign-ins, so nobody can plant one beforehand (session fixation).
 */
@Controller()
export class SignInController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(DashboardSessions) private readonly sessions: DashboardSessions,
    @Inject(Access) private readonly access: Access,
    @Inject(Views) private readonly views: Views,
  ) {}

  @Get()
  @PublicPages()
  home(@Res() response: Response): void {
    response.redirect(303, '/messages');
  }

  @Get('sign-in')
  @PublicPages()
  @HtmlPage()
  form(): string {
    return this.views.render('sign-in', { error: null, session: null });
  }

  @Post('sign-in')
  @PublicPages()
  async signIn(
    @Req() request: DashboardRequest,
    @Res() response: Response,
    @Body() body: { key?: unknown },
  ): Promise<void> {
    if (!fromOurPages(request))
      throw new ForbiddenException('Sign in from the dashboard’s own page');
    const key = typeof body?.key === 'string' ? body.key.trim() : '';
    const principal = key ? await this.access.apiKeys.authenticate(key) : null;
    if (!principal || principal.kind !== 'secret_key') {
      response
        .status(HttpStatus.UNAUTHORIZED)
        .type('html')
        .setHeader('Cache-Control', 'no-store')
        .send(
          this.views.render('sign-in', {
            error: 'That key is not a valid secret key (unknown, revoked or expired).',
            session: null,
          }),
        );
      return;
    }
    const token = newToken();
    const now = Date.now();
    await this.sessions.create(token, {
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      csrfToken: newToken(),
      createdAt: now,
      expiresAt: now + this.config.dashboard.sessionTtlMs,
    });
    const secure = cookieIsSecure({ secure: request.secure, host: request.headers.host });
    response.setHeader(
      'Set-Cookie',
      sessionCookie(token, secure, Math.floor(this.config.dashboard.sessionTtlMs / 1000)),
    );
    response.redirect(303, '/messages');
  }

  /** Ends the session in the database, not only in the browser. */
  @Post('sign-out')
  @SessionPages()
  async signOut(@CurrentSession() session: SignedIn, @Res() response: Response): Promise<void> {
    await this.sessions.end(session.token);
    response.setHeader('Set-Cookie', clearedCookies());
    response.redirect(303, '/sign-in');
  }
}
