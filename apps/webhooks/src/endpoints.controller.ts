import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import type { Principal } from '@herald/access';
import { WebhookDeliveryStore, WebhookEndpointStore } from '@herald/mongo';
import { CurrentPrincipal, invalidRequest } from '@herald/platform';
import { checkDestination, newSigningSecret } from '@herald/providers';
import {
  endpointChanges,
  parseEndpointInput,
  rotatedSecrets,
  toApiAttempt,
  toApiDelivery,
  toApiEndpoint,
  WEBHOOK_DELIVERY_STATUSES,
  type EndpointInput,
  type WebhookEndpoint,
} from '@herald/webhooks';
import { DeliveryResender } from '@herald/kafka';

const MAX_LIST = 100;

/** The most deliveries one recover sends again (the newest). */
const MAX_RECOVER = 10_000;

/**
 * `/v1/webhook-endpoints`: a tenant's endpoints, their deliveries, resend and recover. Every
 * lookup is the caller's tenant's: another tenant's endpoint answers 404 like an unknown id.
 */
@Controller('v1/webhook-endpoints')
export class EndpointsController {
  constructor(
    @Inject(WebhookEndpointStore) private readonly endpoints: WebhookEndpointStore,
    @Inject(WebhookDeliveryStore) private readonly deliveries: WebhookDeliveryStore,
    @Inject(DeliveryResender) private readonly resender: DeliveryResender,
  ) {}

  /** 201 with the endpoint and its signing secret, which no later answer shows. */
  @Post()
  async create(@CurrentPrincipal() caller: Principal, @Body() body: unknown) {
    const input = inputOr400(body, 'create');
    const now = Date.now();
    const secret = newSigningSecret();
    const endpoint: WebhookEndpoint = {
      id: `ep_${randomUUID().replaceAll('-', '')}`,
      tenantId: caller.tenantId,
      url: input.url!,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? null,
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      secrets: [{ secret, expiresAt: null }],
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.endpoints.create(endpoint);
    return { ...toApiEndpoint(endpoint), secret };
  }

  @Get()
  async list(@CurrentPrincipal() caller: Principal) {
    return { items: (await this.endpoints.ofTenant(caller.tenantId)).map(toApiEndpoint) };
  }

  @Get(':id')
  async get(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return toApiEndpoint(await this.endpointOr404(caller, id));
  }

  /** url, eventTypes, description, enabled; enabling again clears the disabled reason. */
  @Patch(':id')
  async update(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
  ) {
    const input = inputOr400(body, 'update');
    const current = await this.endpointOr404(caller, id);
    const changes = endpointChanges(current, input, Date.now());
    const updated = await this.endpoints.update(caller.tenantId, id, changes);
    if (!updated) throw notFound('endpoint', id);
    return toApiEndpoint(updated);
  }

  /** Its pending deliveries are dropped (and recorded) when they come due. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@CurrentPrincipal() caller: Principal, @Param('id') id: string): Promise<void> {
    if (!(await this.endpoints.delete(caller.tenantId, id))) throw notFound('endpoint', id);
  }

  /** A new secret; the previous one keeps signing for 24 h, so both signatures are sent. */
  @Post(':id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  async rotate(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    const endpoint = await this.endpointOr404(caller, id);
    const now = Date.now();
    const secret = newSigningSecret();
    const updated = await this.endpoints.setSecrets(
      caller.tenantId,
      id,
      rotatedSecrets(endpoint, secret, now),
      now,
    );
    if (!updated) throw notFound('endpoint', id);
    return { ...toApiEndpoint(updated), secret };
  }

  /** Newest first; `status` filters, `limit` ≤ 100. */
  @Get(':id/deliveries')
  async listDeliveries(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ) {
    await this.endpointOr404(caller, id);
    const status = typeof query.status === 'string' ? query.status : undefined;
    if (
      status !== undefined &&
      !(WEBHOOK_DELIVERY_STATUSES as readonly string[]).includes(status)
    ) {
      throw invalidRequest([
        { field: 'status', problem: `must be one of ${WEBHOOK_DELIVERY_STATUSES.join(', ')}` },
      ]);
    }
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw invalidRequest([{ field: 'limit', problem: `must be a whole number 1-${MAX_LIST}` }]);
    }
    const docs = await this.deliveries.ofEndpoint(id, { status, limit });
    return { items: docs.filter((d) => d.tenantId === caller.tenantId).map(toApiDelivery) };
  }

  /** One delivery with every attempt (request, response, duration), redacted as stored. */
  @Get(':id/deliveries/:deliveryId')
  async getDelivery(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ) {
    const { latest, attempts } = await this.deliveryOr404(caller, id, deliveryId);
    return { ...toApiDelivery(latest), attempts: attempts.map(toApiAttempt) };
  }

  /** 202: a new run of the schedule with the same webhook-id; 409 while it is still pending. */
  @Post(':id/deliveries/:deliveryId/resend')
  @HttpCode(HttpStatus.ACCEPTED)
  async resend(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ) {
    await this.endpointOr404(caller, id);
    const { latest: delivery, payload } = await this.deliveryOr404(caller, id, deliveryId);
    if (delivery.status === 'pending' || payload === null) {
      throw new HttpException(
        {
          error: 'pending',
          message: 'The delivery is still being attempted',
          status: delivery.status,
        },
        HttpStatus.CONFLICT,
      );
    }
    await this.resender.resend([{ delivery, payload }]);
    return { id: deliveryId, status: 'pending', run: delivery.run + 1 };
  }

  /** 202: every failed delivery created at or after `since` is sent again. */
  @Post(':id/recover')
  @HttpCode(HttpStatus.ACCEPTED)
  async recover(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
  ) {
    await this.endpointOr404(caller, id);
    const since = (body as { since?: unknown } | null)?.since;
    const sinceMs = typeof since === 'string' ? Date.parse(since) : NaN;
    if (!Number.isFinite(sinceMs)) {
      throw invalidRequest([{ field: 'since', problem: 'must be an ISO-8601 time' }]);
    }
    const failed = await this.deliveries.failedSince(caller.tenantId, id, sinceMs, MAX_RECOVER);
    await this.resender.resend(failed);
    return { resent: failed.length, ids: failed.map(({ delivery }) => delivery.deliveryId) };
  }

  private async endpointOr404(caller: Principal, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.getOfTenant(caller.tenantId, id);
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }

  private async deliveryOr404(caller: Principal, endpointId: string, deliveryId: string) {
    const history = await this.deliveries.history(endpointId, deliveryId);
    const delivery = history?.latest;
    if (!delivery || delivery.tenantId !== caller.tenantId || delivery.endpointId !== endpointId) {
      throw notFound('delivery', deliveryId);
    }
    return history;
  }
}

function notFound(what: string, id: string): HttpException {
  return new HttpException(
    { error: 'not_found', message: `No ${what} with id '${id}'` },
    HttpStatus.NOT_FOUND,
  );
}

function inputOr400(body: unknown, mode: 'create' | 'update'): EndpointInput {
  const parsed = parseEndpointInput(body, mode);
  if (!parsed.ok) throw invalidRequest(parsed.problems);
  if (parsed.value.url !== undefined) {
    try {
      // Only what the URL itself says (an address literal); names are checked at each call.
      checkDestination(parsed.value.url);
    } catch (error) {
      throw invalidRequest([{ field: 'url', problem: (error as Error).message }]);
    }
  }
  return parsed.value;
}
