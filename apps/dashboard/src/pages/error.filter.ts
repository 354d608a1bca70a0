import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import statuses from 'statuses';
import { type DashboardRequest, SignInRequired } from '../sessions/dashboard-session';
import { Views } from '../views';

/**
 * The dashboard's errors as pages: no session → 303 to the sign-in form; an HTTP error → a page
 * with its status (a message of another tenant is 404, exactly as the API answers); anything
 * else → 500, logged, with nothing of the error shown.
 */
@Catch()
@Injectable()
export class DashboardErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Dashboard');

  constructor(@Inject(Views) private readonly views: Views) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<DashboardRequest>();
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof SignInRequired) {
      response.redirect(303, '/sign-in');
      return;
    }
    let status: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let detail = 'Something went wrong; the error is in the dashboard’s log.';
    if (error instanceof HttpException) {
      status = error.getStatus();
      detail = messageOf(error);
    } else {
      this.logger.error(
        `${request.method} ${request.path}: ${(error as Error).stack ?? String(error)}`,
      );
    }
    // The reason phrase in sentence case, as every other heading here: "Not found".
    const phrase = statuses.message[status] ?? 'Error';
    const title = phrase.charAt(0) + phrase.slice(1).toLowerCase();
    response
      .status(status)
      .type('html')
      .setHeader('Cache-Control', 'no-store')
      .send(this.views.render('error', { title, detail, session: request.signedIn ?? null }));
  }
}

function messageOf(error: HttpException): string {
  const body = error.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' ? message : error.message;
}
