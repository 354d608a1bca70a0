import {
  createParamDecorator,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { bearerCredential, isSecretKey, type Principal } from '@herald/access';
import type { HeraldConfig } from '@herald/config';
import { Access } from './access';
import { HERALD_CONFIG } from './tokens';

const RECIPIENT_TOKENS_ACCEPTED = 'herald:recipient-tokens-accepted';
const ACCESS_BY = 'herald:access-by';

/** Marks a /v1 handler that also accepts a recipient token (only the in-app feed). */
export const AcceptsRecipientTokens = () => SetMetadata(RECIPIENT_TOKENS_ACCEPTED, true);

/**
 * How a route not under the bearer-key rule is reached, said where the route is declared:
 * `session` (the dashboard's pages: its own guard, applied with the same decorator, checks the
 * sign-in cookie) or `public` (the sign-in form and the status page). Nothing else opts out.
 */
export type AccessBy = 'session' | 'public';
export const accessBy = (how: AccessBy) => SetMetadata(ACCESS_BY, how);

interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

/** The principal the guard found for this request (every /v1 handler has one). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new Error('CurrentPrincipal used on a route the access guard skips');
    return principal;
  },
);

/**
 * Every service's one access rule, by path, so an endpoint added later is protected without
 * anyone remembering to: /health/* is open (orchestrators probe it without credentials);
 * /metrics and /docs answer loopback callers only unless HERALD_OPS_ACCESS=anywhere; every
 * other route (all of /v1) needs `Authorization: Bearer <key>`, or where a handler says so a
 * recipient token.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    @Inject(Access) private readonly access: Access,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const path = routedPath(request.path);
    if (path.startsWith('/health/')) return true;
    if (path === '/metrics' || path === '/docs') return this.opsCaller(request);
    const declared = this.reflector.getAllAndOverride<AccessBy | undefined>(ACCESS_BY, [
      context.getHandler(),
      context.getClass(),
    ]);
    // The dashboard's pages: `session` routes carry the session guard with their marking.
    if (declared === 'session' || declared === 'public') return true;
    // Everything else needs a credential: /v1/*, and any route added anywhere later.

    const credential = bearerCredential(request.headers.authorization);
    const tokensAccepted = this.reflector.get<boolean>(
      RECIPIENT_TOKENS_ACCEPTED,
      context.getHandler(),
    );
    let principal: Principal | null = null;
    if (credential !== null && isSecretKey(credential)) {
      principal = await this.access.apiKeys.authenticate(credential);
    } else if (credential !== null && tokensAccepted) {
      principal = await this.access.verifyRecipientToken(credential);
    }
    if (!principal) {
      const response = context.switchToHttp().getResponse<Response>();
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpException(
        {
          error: 'unauthorized',
          message:
            credential === null
              ? 'Send the secret key as Authorization: Bearer <key>'
              : 'The key is not valid (unknown, revoked or expired)',
        },
        HttpStatus.UNAUTHORIZED,
      );
    }
    request.principal = principal;
    return true;
  }

  private opsCaller(request: Request): boolean {
    if (this.config.access.opsAccess === 'anywhere' || isLoopback(request.socket.remoteAddress)) {
      return true;
    }
    throw new HttpException(
      {
        error: 'forbidden',
        message: 'Served to loopback callers only (set HERALD_OPS_ACCESS=anywhere to change)',
      },
      HttpStatus.FORBIDDEN,
    );
  }
}

/**
 * The path as Express routes it: case-insensitively, ignoring a trailing slash and repeated
 * slashes. The exceptions above must be recognised in every spelling the router accepts, or
 * `/METRICS/` would reach the metrics without the loopback check.
 */
export function routedPath(path: string): string {
  return (
    path
      .toLowerCase()
      .replace(/\/{2,}/g, '/')
      .replace(/\/+$/, '') || '/'
  );
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (what a dual-stack socket reports). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
