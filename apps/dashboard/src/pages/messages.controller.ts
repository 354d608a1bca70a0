import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { CHANNELS, DELIVERY_STATUSES } from '@herald/messages';
import { ReadModelStore } from '@herald/mongo';
import { MessageControlsService } from '@herald/platform';
import { toApiEvent, toApiLog, toApiMessage, toApiPage, type ApiLog } from '@herald/read-model';
import { CurrentSession, type SignedIn } from '../sessions/dashboard-session';
import { SessionPages } from '../sessions/session.guard';
import { HtmlPage, Views } from '../views';
import { listQueryOr400 } from './list-query';
import { providerCallView, queryString, timelineWithWaits } from './view-models';

/** What a control's redirect says on the message's page (`?done=`); nothing else is shown. */
const NOTICES: Record<string, string> = {
  canceled: 'Canceled: no attempt starts after this.',
  cancel_requested:
    'Cancel requested: the sender holding it has been told; no attempt starts after this.',
  too_late: 'Too late to cancel: the message was already sent or had ended.',
  resent: 'Resent: a fresh run of attempts has started.',
  resend_repeated: 'Already resent by this form.',
  not_resendable: 'Only an undelivered, bounced or canceled message can be resent.',
  content_unavailable:
    'The original request has left Kafka’s retention (7 days): it cannot be resent.',
  conflict: 'Another cancel or resend got there first: read the message again.',
};

/**
 * The message list and a message's page, read through the same store and shapes as the read
 * API (GET /v1/messages…), scoped to the session's tenant: another tenant's message is 404.
 * Cancel and resend go through the same service as POST /v1/messages/{id}/cancel and /resend.
 */
@Controller('messages')
@SessionPages()
export class MessagesController {
  constructor(
    @Inject(ReadModelStore) private readonly store: ReadModelStore,
    @Inject(MessageControlsService) private readonly controls: MessageControlsService,
    @Inject(Views) private readonly views: Views,
  ) {}

  @Get()
  @HtmlPage()
  async list(@CurrentSession() session: SignedIn, @Query() query: Record<string, unknown>) {
    const parsed = listQueryOr400(query);
    const [docs, counts] = await Promise.all([
      this.store.list(session.tenantId, parsed),
      this.store.statusCounts(session.tenantId),
    ]);
    const page = toApiPage(docs, parsed.limit);
    const filters = {
      status: parsed.status,
      channel: parsed.channel,
      provider: parsed.provider,
      recipient: parsed.recipient,
    };
    return this.views.render('messages', {
      title: 'Messages',
      section: 'messages',
      refreshSeconds: 5,
      session,
      page,
      filters,
      statuses: DELIVERY_STATUSES,
      channels: CHANNELS,
      counts,
      total: Object.values(counts).reduce((sum, n) => sum + n, 0),
      nextLink: page.nextCursor
        ? `/messages${queryString({ ...filters, cursor: page.nextCursor, limit: query.limit as string })}`
        : null,
      firstLink: parsed.cursor ? `/messages${queryString(filters)}` : null,
    });
  }

  @Get(':id')
  @HtmlPage()
  async message(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Query('tab') tab: unknown,
    @Query('done') done: unknown,
  ) {
    const doc = await this.store.message(session.tenantId, id);
    if (!doc) throw new NotFoundException(`No message with id '${id}'`);
    const message = toApiMessage(doc);
    const events = await this.store.timeline(doc);
    const logsTab = tab === 'logs';
    const calls = events.map(toApiLog).filter((log): log is ApiLog => log !== null);
    return this.views.render('message', {
      title: `Message ${id}`,
      section: 'messages',
      refreshSeconds: message.actions.cancel ? 5 : 0,
      session,
      message,
      path: `/messages/${encodeURIComponent(id)}`,
      tab: logsTab ? 'logs' : 'timeline',
      timeline: logsTab ? [] : timelineWithWaits(events.map(toApiEvent)),
      calls: logsTab ? calls.map(providerCallView) : [],
      callCount: calls.length,
      notice: typeof done === 'string' ? (NOTICES[done] ?? null) : null,
      // A double-click resends once: the form's key is the API's Idempotency-Key.
      resendKey: randomUUID(),
    });
  }

  @Post(':id/cancel')
  async cancel(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Res() response: Response,
  ): Promise<void> {
    const result = await this.controls.cancel(session.tenantId, id);
    if (result.kind === 'not_found') throw new NotFoundException(`No message with id '${id}'`);
    const done = result.kind === 'requested' ? 'cancel_requested' : result.kind;
    response.redirect(303, `/messages/${encodeURIComponent(id)}?done=${done}`);
  }

  @Post(':id/resend')
  async resend(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Body() body: { resendKey?: unknown },
    @Res() response: Response,
  ): Promise<void> {
    const key =
      typeof body?.resendKey === 'string' && /^[0-9a-f-]{36}$/.test(body.resendKey)
        ? body.resendKey
        : null;
    const result = await this.controls.resend(session.tenantId, id, key);
    if (result.kind === 'not_found') throw new NotFoundException(`No message with id '${id}'`);
    const done =
      result.kind === 'resent' ? (result.repeated ? 'resend_repeated' : 'resent') : result.kind;
    response.redirect(303, `/messages/${encodeURIComponent(id)}?done=${done}`);
  }
}
