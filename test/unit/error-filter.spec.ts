import {
  BadRequestException,
  HttpException,
  Logger,
  NotFoundException,
  type ArgumentsHost,
} from '@nestjs/common';
import { HeraldErrorFilter } from '@herald/platform';

/** Runs the filter on one exception for a request to `path`; returns what it answered. */
function answer(exception: unknown, path = '/v1/messages') {
  const sent: { status?: number; body?: unknown } = {};
  const response = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ path }) }),
  } as unknown as ArgumentsHost;
  new HeraldErrorFilter().catch(exception, host);
  return sent;
}

describe('HeraldErrorFilter', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it("passes Herald's own errors through as they are", () => {
    const body = {
      error: 'invalid_request',
      message: 'm',
      problems: [{ field: 'f', problem: 'p' }],
    };
    expect(answer(new HttpException(body, 400))).toEqual({ status: 400, body });
  });

  it("names the framework's errors in Herald's shape", () => {
    expect(answer(new BadRequestException('Unexpected end of JSON input'))).toEqual({
      status: 400,
      body: { error: 'invalid_json', message: expect.stringContaining('not valid JSON') },
    });
    expect(answer(new BadRequestException('URI malformed'), '/v1/messages/%FF')).toEqual({
      status: 400,
      body: { error: 'invalid_path', message: expect.any(String) },
    });
    expect(answer(new NotFoundException('Cannot GET /v1/x'))).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'Cannot GET /v1/x' },
    });
    const tooLarge = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
    });
    expect(answer(tooLarge)).toEqual({
      status: 413,
      body: { error: 'payload_too_large', message: expect.any(String) },
    });
  });

  it('answers anything else 500 without showing it', () => {
    const sent = answer(new RangeError('Invalid time value at secret/internal/path.ts:12'));
    expect(sent).toEqual({ status: 500, body: { error: 'internal', message: expect.any(String) } });
    expect(JSON.stringify(sent.body)).not.toContain('secret/internal');
  });
});
