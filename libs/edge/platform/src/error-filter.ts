import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Request, Response } from 'express';

/** Herald's one error shape: `{error, message, problems?}`. */
interface ErrorBody {
  error: string;
  message: string;
  problems?: { field: string; problem: string }[];
}

/** What an error the framework (or body-parser) raised is called in Herald's shape. */
const ERROR_NAMES: Record<number, string> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/**
 * Every error every service answers, in Herald's JSON shape: Herald's own exceptions pass as
 * they are; the framework's (unknown route, malformed JSON, a body over the limit) are put in
 * that shape; anything else is a 500 that says nothing about the internals and is logged.
 */
@Catch()
export class HeraldErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    const { status, body } = this.describe(exception, request);
    if (response.headersSent) return;
    response.status(status).json(body);
  }

  private describe(exception: unknown, request: Request): { status: number; body: ErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const given = exception.getResponse();
      if (isErrorBody(given)) return { status, body: given };
      return { status, body: frameworkError(status, exception, request) };
    }
    // body-parser's errors carry their status (413 too large, 415 a charset it cannot read).
    const status = statusOf(exception);
    if (status !== undefined && status >= 400 && status < 500) {
      return { status, body: frameworkError(status, exception as Error, request) };
    }
    this.logger.error(
      `unhandled error: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { error: 'internal', message: 'Internal error; the service logged it' },
    };
  }
}

/** Herald's own: a snake_case `error` and a `message` (Nest's own say `"Bad Request"`). */
function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    !('statusCode' in value) &&
    typeof (value as ErrorBody).error === 'string' &&
    /^[a-z][a-z_]*$/.test((value as ErrorBody).error) &&
    typeof (value as ErrorBody).message === 'string'
  );
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' ? value : undefined;
}

/**
 * The framework's own errors, named; their messages are the framework's and safe to show. Nest
 * turns body-parser's malformed-JSON SyntaxError and Express's badly percent-encoded path
 * (URIError) into the same bare 400; the path tells them apart.
 */
function frameworkError(status: number, error: Error, request: Request): ErrorBody {
  if (status === 400) {
    return decodes(request.path)
      ? { error: 'invalid_json', message: `The body is not valid JSON: ${error.message}` }
      : { error: 'invalid_path', message: 'The path is not valid percent-encoding' };
  }
  if (status === 413) {
    return { error: 'payload_too_large', message: 'The body is over the size limit' };
  }
  return {
    error: ERROR_NAMES[status] ?? (status >= 500 ? 'internal' : 'invalid_request'),
    message: error.message,
  };
}

function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
