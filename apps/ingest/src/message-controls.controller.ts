import {
  Controller,
  Headers,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import type { Principal } from '@herald/access';
import { CurrentPrincipal, invalidRequest } from '@herald/platform';
import { MessageControlsService } from '@herald/platform';

/** Idempotency-Key values are the caller's; bounded like ids so they can be stored. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * Message controls (docs/contract.md, "Message controls"): cancel a message that is waiting,
 * resend one that ended without reaching its recipient. Both act on the key's tenant's messages
 * only: another tenant's id answers 404 like an id nobody used.
 */
@Controller('v1/messages')
export class MessageControlsController {
  constructor(@Inject(MessageControlsService) private readonly controls: MessageControlsService) {}

  /**
   * 200 `canceled`; 409 `too_late` once the message was sent or ended; 202 `requested` when the
   * sender holding it has been told but has not answered within a moment (no attempt starts
   * after the 202; one already in flight is recorded, and nothing follows it).
   */
  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  async cancel(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ) {
    const result = await this.controls.cancel(caller.tenantId, id);
    switch (result.kind) {
      case 'not_found':
        throw notFound(id);
      case 'too_late':
        throw new HttpException(
          {
            error: 'too_late',
            message: `The message is ${result.status}: there is nothing left to cancel`,
            status: result.status,
          },
          HttpStatus.CONFLICT,
        );
      case 'canceled':
        return { messageId: id, status: 'canceled' };
      case 'requested':
        response.status(HttpStatus.ACCEPTED);
        return { messageId: id, status: 'cancel_requested' };
    }
  }

  /** 202: a fresh run of attempts; 409 unless the message ended undelivered, bounced or canceled. */
  @Post(':id/resend')
  @HttpCode(HttpStatus.ACCEPTED)
  async resend(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ) {
    const key = idempotencyKey?.trim() || null;
    if (key !== null && key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw invalidRequest([
        {
          field: 'Idempotency-Key',
          problem: `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
        },
      ]);
    }
    const result = await this.controls.resend(caller.tenantId, id, key);
    switch (result.kind) {
      case 'not_found':
        throw notFound(id);
      case 'not_resendable':
        throw new HttpException(
          {
            error: 'not_resendable',
            message: `The message is ${result.status}: only an undelivered, bounced or canceled message can be resent`,
            status: result.status,
          },
          HttpStatus.CONFLICT,
        );
      case 'content_unavailable':
        throw new HttpException(
          {
            error: 'content_unavailable',
            message:
              'The original request has left herald.messages.requested (7 days of retention), so it cannot be sent again',
          },
          HttpStatus.CONFLICT,
        );
      case 'conflict':
        throw new HttpException(
          {
            error: 'conflict',
            message: 'Another resend or cancel of this message got there first; read it and retry',
          },
          HttpStatus.CONFLICT,
        );
      case 'resent':
        return {
          messageId: id,
          status: 'queued',
          resend: result.repeated ? 'repeated' : 'accepted',
        };
    }
  }
}

function notFound(id: string): HttpException {
  return new HttpException(
    { error: 'not_found', message: `No message with id '${id}'` },
    HttpStatus.NOT_FOUND,
  );
}
