import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '@herald/config';
import type { ApiEvent, ApiFeedItem as FeedItem, ApiLog, ApiMessage } from '@herald/read-model';
import {
  createSimulator,
  simulatorProviderEnv,
  type RecordedRequest,
  type Simulator,
} from '@tools/provider-sim';
import {
  apiKeysEnv,
  bearer,
  builtEntry,
  newTenantKey,
  REPO_ROOT,
  startService,
  stopService,
  waitFor,
  waitUntilReady,
  type RunningService,
  type TenantKey,
} from '@tools/harness';

const FINAL = ['sent', 'delivered', 'undelivered', 'bounced', 'not_sent', 'canceled'];

/**
 * A running Herald for a test file: the built services as real processes (ingest, sender,
 * projector) against the real servers, and the provider simulator in-process so its
 * recordings can be read directly.
 */
export class Herald {
  private constructor(
    readonly sim: Simulator,
    readonly services: RunningService[],
    private readonly env: Record<string, string>,
    /** Every credential the providers were configured with, to search for leaks. */
    readonly secrets: readonly string[],
    /** The key every call uses unless it names another: tenant `default`'s. */
    readonly key: TenantKey,
    /** A second tenant's key, for tests of tenant isolation. */
    readonly otherKey: TenantKey,
  ) {}

  /**
   * Every provider is configured against the simulator, the way a user configures real ones
   * (HERALD_* variables, key files), with fresh throwaway credentials.
   */
  static async start(env: Record<string, string>, extra: ServiceName[] = []): Promise<Herald> {
    const sim = createSimulator({ apnsPort: 0, smtpPort: 0 });
    const { url, apnsUrl, smtpUrl } = await sim.listen(0, '127.0.0.1');
    if (!apnsUrl || !smtpUrl) throw new Error('the simulator did not open its APNs and SMTP ports');
    const providers = simulatorProviderEnv(
      { http: url, apns: apnsUrl, smtp: smtpUrl },
      mkdtempSync(join(tmpdir(), 'herald-sim-credentials-')),
    );
    const key = newTenantKey('default');
    const otherKey = newTenantKey('other-tenant');
    const fullEnv = { ...providers.env, ...apiKeysEnv([key, otherKey]), ...env };
    const names: ServiceName[] = ['ingest', 'sender', 'projector', ...extra];
    const started = await Promise.allSettled(
      names.map((name) => startService(name, { env: fullEnv })),
    );
    const services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const herald = new Herald(sim, services, fullEnv, providers.secrets, key, otherKey);
    try {
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      await Promise.all(services.map((service) => waitUntilReady(service)));
    } catch (error) {
      // Whatever did start is stopped, so a failed start leaves no process consuming behind.
      await herald.stop();
      throw error;
    }
    return herald;
  }

  service(name: ServiceName, index = 0): RunningService {
    const found = this.services.filter((s) => s.name === name)[index];
    if (!found) throw new Error(`no ${name} #${index} running`);
    return found;
  }

  async startAnother(name: ServiceName, env: Record<string, string> = {}): Promise<RunningService> {
    const service = await startService(name, { env: { ...this.env, ...env } });
    this.services.push(service);
    await waitUntilReady(service);
    return service;
  }

  async stop(): Promise<void> {
    await Promise.all(this.services.map(stopService));
    await this.sim.close();
  }

  /** A recipient URL on the simulator, unique per test so attempt counters do not mix. */
  hook(script: string, id: string, query = ''): string {
    return `${this.sim.url()}/hooks/${script}/${id}${query}`;
  }

  received(id: string): RecordedRequest[] {
    return this.sim.requests({ prefix: '/hooks/' }).filter((r) => r.path.endsWith(`/${id}`));
  }

  /** POST /v1/messages with `key` (tenant `default`'s unless named; null sends none). */
  async post(
    body: unknown,
    key: string | null = this.key.key,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${this.service('ingest').port}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : bearer(key)) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** POST /v1/messages/{id}/cancel or /resend, with `key` (tenant `default`'s unless named). */
  async control(
    id: string,
    action: 'cancel' | 'resend',
    options: { key?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = `http://127.0.0.1:${this.service('ingest').port}/v1/messages/${encodeURIComponent(id)}/${action}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...bearer(options.key ?? this.key.key), ...options.headers },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async send(
    messageId: string,
    recipient: string,
    extra: Record<string, unknown> = {},
    key: string = this.key.key,
  ) {
    const response = await this.post(
      {
        messageId,
        channel: 'webhook',
        provider: 'webhook',
        recipient,
        content: { body: `hello ${messageId}` },
        ...extra,
      },
      key,
    );
    if (response.status !== 202)
      throw new Error(`POST answered ${response.status}: ${JSON.stringify(response.body)}`);
  }

  /** Scripts the simulator's answers for one recipient (see the simulator's README section). */
  async script(
    recipient: string,
    scripts: { send?: string; status?: string; check?: string; only?: string[] },
  ) {
    const response = await fetch(
      `${this.sim.url()}/_sim/recipients/${encodeURIComponent(recipient)}`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(scripts),
      },
    );
    if (response.status !== 200) {
      throw new Error(
        `scripting ${recipient} answered ${response.status}: ${await response.text()}`,
      );
    }
  }

  async feed(
    recipient: string,
    query = '',
  ): Promise<{ items: FeedItem[]; nextCursor: string | null }> {
    const path = `/v1/recipients/${encodeURIComponent(recipient)}/feed${query}`;
    return (await this.api<{ items: FeedItem[]; nextCursor: string | null }>(path)).body;
  }

  /** A GET of the read API with `key` (tenant `default`'s unless named; null sends none). */
  async api<T>(
    path: string,
    key: string | null = this.key.key,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`http://127.0.0.1:${this.service('projector').port}${path}`, {
      headers: key === null ? {} : bearer(key),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async message(id: string): Promise<ApiMessage | undefined> {
    const response = await this.api<ApiMessage>(`/v1/messages/${encodeURIComponent(id)}`);
    return response.status === 200 ? response.body : undefined;
  }

  async events(id: string): Promise<ApiEvent[]> {
    return (await this.api<{ events: ApiEvent[] }>(`/v1/messages/${encodeURIComponent(id)}/events`))
      .body.events;
  }

  async logs(id: string): Promise<ApiLog[]> {
    return (await this.api<{ logs: ApiLog[] }>(`/v1/messages/${encodeURIComponent(id)}/logs`)).body
      .logs;
  }

  /** Waits until the read model shows a final status and the timeline holds every event. */
  async final(
    id: string,
    timeoutMs = 60_000,
  ): Promise<{ message: ApiMessage; events: ApiEvent[] }> {
    return waitFor(
      `message ${id} to reach a final status`,
      async () => {
        const message = await this.message(id);
        if (!message || !FINAL.includes(message.status)) return undefined;
        const events = await this.events(id);
        return events.some((e) => FINAL.includes(e.type)) ? { message, events } : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }
}

export const ms = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : NaN);

/** `node dist/apps/<app>/main.js rebuild`, as an operator runs it (its services stopped first). */
export function runRebuild(app: 'projector' | 'webhooks'): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [builtEntry(app), 'rebuild'], {
    cwd: REPO_ROOT,
    env: process.env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}
