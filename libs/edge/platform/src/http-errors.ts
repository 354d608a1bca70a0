import { HttpException, HttpStatus } from '@nestjs/common';

/** The 400 every /v1 endpoint answers for a bad body: each problem names its field. */
export function invalidRequest(problems: { field: string; problem: string }[]): HttpException {
  return new HttpException(
    { error: 'invalid_request', message: 'The request has invalid fields', problems },
    HttpStatus.BAD_REQUEST,
  );
}
