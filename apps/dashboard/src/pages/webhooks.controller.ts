import {
  BadRequestException,
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
import { DeliveryResender } from '@herald/kafka';
import { WebhookDeliveryStore, WebhookEndpointStore } from '@herald/mongo';
import {
  endpointChanges,
  toApiAttempt,
  toApiDelivery,
  toApiEndpoint,
  WEBHOOK_DELIVERY_STATUSES,
  type WebhookEndpoint,
} from '@herald/webhooks';
import { CurrentSession, type SignedIn } from '../sessions/dashboard-session';
import { SessionPages } from '../sessions/session.guard';
import { HtmlPage, Views } from '../views';
import { webhookAttemptView } from './view-models';

const SHOWN_DELIVERIES = 50;
/** As the API's recover: at most this many (the newest) per request. */
const MAX_RECOVER = 10_000;

/**
 * A tenant's webhook endpoints, their deliveries and attempts, enable/disable and recover:
 * the same stores and the same update rule (endpointChanges) as /v1/webhook-endpoints.
 */
@Controller('webhooks')
@SessionPages()
export class WebhooksController {
  constructor(
    @Inject(WebhookEndpointStore) private readonly endpoints: WebhookEndpointStore,
    @Inject(WebhookDeliveryStore) private readonly deliveries: WebhookDeliveryStore,
    @Inject(DeliveryResender) private readonly resender: DeliveryResender,
    @Inject(Views) private readonly views: Views,
  ) {}

  @Get()
  @HtmlPage()
  async list(@CurrentSession() session: SignedIn) {
    const endpoints = (await this.endpoints.ofTenant(session.tenantId)).map(toApiEndpoint);
    return this.views.render('webhooks', {
      title: 'Webhooks',
      section: 'webhooks',
      session,
      endpoints,
    });
  }

  @Get(':id')
  @HtmlPage()
  async endpoint(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Query('status') status: unknown,
    @Query('done') done: unknown,
  ) {
    const endpoint = await this.endpointOr404(session, id);
    const statusFilter =
      typeof status === 'string' &&
      (WEBHOOK_DELIVERY_STATUSES as readonly string[]).includes(status)
        ? status
        : undefined;
    const deliveries = await this.deliveries.ofEndpoint(id, {
      status: statusFilter,
      limit: SHOWN_DELIVERIES,
    });
    return this.views.render('webhook-endpoint', {
      title: `Webhook endpoint ${id}`,
      section: 'webhooks',
      session,
      endpoint: toApiEndpoint(endpoint),
      path: `/webhooks/${encodeURIComponent(id)}`,
      deliveries: deliveries.filter((d) => d.tenantId === session.tenantId).map(toApiDelivery),
      statuses: WEBHOOK_DELIVERY_STATUSES,
      statusFilter: statusFilter ?? '',
      // An hour back, as a datetime-local field wants it (the browser's local time is unknown
      // here, so the field says UTC and the form is read as UTC).
      defaultSince: new Date(Date.now() - 3_600_000).toISOString().slice(0, 16),
      notice: typeof done === 'string' ? noticeOf(done) : null,
    });
  }

  @Get(':id/deliveries/:deliveryId')
  @HtmlPage()
  async delivery(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ) {
    await this.endpointOr404(session, id);
    const history = await this.deliveries.history(id, deliveryId);
    if (!history || history.latest.tenantId !== session.tenantId) {
      throw new NotFoundException(`No delivery with id '${deliveryId}'`);
    }
    return this.views.render('webhook-delivery', {
      title: `Delivery ${deliveryId}`,
      section: 'webhooks',
      session,
      endpointPath: `/webhooks/${encodeURIComponent(id)}`,
      delivery: toApiDelivery(history.latest),
      attempts: history.attempts.map((a) => webhookAttemptView(toApiAttempt(a), history.payload)),
    });
  }

  @Post(':id/enable')
  async enable(@CurrentSession() session: SignedIn, @Param('id') id: string, @Res() res: Response) {
    await this.setEnabled(session, id, true);
    res.redirect(303, `/webhooks/${encodeURIComponent(id)}?done=enabled`);
  }

  @Post(':id/disable')
  async disable(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Res() res: Response,
  ) {
    await this.setEnabled(session, id, false);
    res.redirect(303, `/webhooks/${encodeURIComponent(id)}?done=disabled`);
  }

  /** Sends every failed delivery created since the form's time again, as the API's recover. */
  @Post(':id/recover')
  async recover(
    @CurrentSession() session: SignedIn,
    @Param('id') id: string,
    @Body() body: { since?: unknown },
    @Res() res: Response,
  ): Promise<void> {
    await this.endpointOr404(session, id);
    const since = typeof body?.since === 'string' ? Date.parse(`${body.since}Z`) : NaN;
    if (!Number.isFinite(since)) throw new BadRequestException('since must be a date and time');
    const failed = await this.deliveries.failedSince(session.tenantId, id, since, MAX_RECOVER);
    await this.resender.resend(failed);
    res.redirect(303, `/webhooks/${encodeURIComponent(id)}?done=recovered-${failed.length}`);
  }

  private async setEnabled(session: SignedIn, id: string, enabled: boolean): Promise<void> {
    const current = await this.endpointOr404(session, id);
    const updated = await this.endpoints.update(
      session.tenantId,
      id,
      endpointChanges(current, { enabled }, Date.now()),
    );
    if (!updated) throw new NotFoundException(`No endpoint with id '${id}'`);
  }

  private async endpointOr404(session: SignedIn, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.getOfTenant(session.tenantId, id);
    if (!endpoint) throw new NotFoundException(`No endpoint with id '${id}'`);
    return endpoint;
  }
}

function noticeOf(done: string): string | null {
  if (done === 'enabled') return 'Enabled: deliveries are attempted again.';
  if (done === 'disabled') return 'Disabled: pending deliveries are dropped when they come due.';
  const recovered = /^recovered-(\d{1,5})$/.exec(done);
  if (recovered) return `Recover: ${recovered[1]} failed deliveries are being sent again.`;
  return null;
}
