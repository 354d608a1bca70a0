import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** The signed-in tenant, as the session guard found it. */
export interface SignedIn {
  tenantId: string;
  keyId: string;
  csrfToken: string;
  /** The cookie's token (to end the session); never rendered. */
  token: string;
}

export interface DashboardRequest extends Request {
  signedIn?: SignedIn;
}

/** The session of a page behind `@SessionPages()`. */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): SignedIn => {
    const signedIn = context.switchToHttp().getRequest<DashboardRequest>().signedIn;
    if (!signedIn) throw new Error('CurrentSession used on a page without the session guard');
    return signedIn;
  },
);

/** Thrown where a page needs a session and has none: the error filter answers 303 /sign-in. */
export class SignInRequired extends Error {
  constructor() {
    super('sign in first');
    this.name = 'SignInRequired';
  }
}
