import {
  applyDecorators,
  ForbiddenException,
  Inject,
  Injectable,
  UseFilters,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { DashboardSessions } from '@herald/mongo';
import { Access, accessBy } from '@herald/platform';
import { DashboardErrorFilter } from '../pages/error.filter';
import { type DashboardRequest, SignInRequired } from './dashboard-session';
import { csrfMatches, sameOrigin, sessionTokenOf } from './session-rules';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every signed-in page: the cookie names a live session whose key is still active (revoking
 * the key ends its sessions at the next request), and a state-changing request also comes from
 * our own pages and carries the session's CSRF token.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    @Inject(DashboardSessions) private readonly sessions: DashboardSessions,
    @Inject(Access) private readonly access: Access,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<DashboardRequest>();
    const token = sessionTokenOf(request.headers.cookie);
    const session = token ? await this.sessions.find(token, Date.now()) : null;
    if (!token || !session || !(await this.access.apiKeys.isActive(session.keyId))) {
      throw new SignInRequired();
    }
    if (!SAFE_METHODS.has(request.method)) {
      const body = (request.body ?? {}) as { _csrf?: unknown };
      if (!fromOurPages(request) || !csrfMatches(session.csrfToken, body._csrf)) {
        throw new ForbiddenException(
          'The form has expired or came from elsewhere: reload the page and try again',
        );
      }
    }
    request.signedIn = {
      tenantId: session.tenantId,
      keyId: session.keyId,
      csrfToken: session.csrfToken,
      token,
    };
    return true;
  }
}

export function fromOurPages(request: DashboardRequest): boolean {
  return sameOrigin({
    secFetchSite: header(request, 'sec-fetch-site'),
    origin: header(request, 'origin'),
    host: header(request, 'host'),
  });
}

function header(request: DashboardRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A signed-in page: the session guard, and errors rendered as pages. */
export const SessionPages = () =>
  applyDecorators(accessBy('session'), UseGuards(SessionGuard), UseFilters(DashboardErrorFilter));

/** A page anyone may see (sign-in, status): errors rendered as pages. */
export const PublicPages = () =>
  applyDecorators(accessBy('public'), UseFilters(DashboardErrorFilter));
