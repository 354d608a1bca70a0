import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/**
 * Tracing, on only when configured (OTEL_EXPORTER_OTLP_ENDPOINT): one trace per message, from
 * ingest's POST through every hop (each service's handling of a record, each delay-tier hop,
 * each provider call), to the projector. A record carries its trace in W3C `traceparent` and
 * `tracestate` Kafka headers, which the delay tiers pass on with the rest of its headers.
 *
 * Off, nothing here does any work: no provider is registered, spans are OpenTelemetry's no-op
 * ones, and no header is added to any record.
 */

export const TRACER_NAME = 'herald';

export interface TracingSettings {
  /** service.name of every span, e.g. herald-sender. */
  service: string;
  /** service.instance.id (HERALD_INSTANCE_ID). */
  instance: string;
  /** The collector's OTLP/HTTP traces URL (…/v1/traces); null leaves tracing off. */
  endpoint: string | null;
  /** Instead of the OTLP exporter (tests): spans go to it one by one. */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

let provider: BasicTracerProvider | null = null;

/** Whether this process records spans. */
export function tracingOn(): boolean {
  return provider !== null;
}

/**
 * Registers the tracer provider for this process when an endpoint (or an exporter) is given;
 * null otherwise. Once per process: a second call returns the first's.
 */
export function startTracing(settings: TracingSettings): Tracing | null {
  if (!settings.endpoint && !settings.exporter) return null;
  if (!provider) {
    const processor = settings.exporter
      ? new SimpleSpanProcessor(settings.exporter)
      : // Batched, in the background (OTEL_BSP_* tune it): a slow collector never holds up a
        // message, and a full queue drops spans rather than grow.
        new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.endpoint! }));
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': settings.service,
        'service.instance.id': settings.instance,
      }),
      spanProcessors: [processor],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  }
  const current = provider;
  return {
    async shutdown() {
      await current.shutdown();
      if (provider === current) {
        provider = null;
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}

/** Kafka header values as kafkajs hands them over: a Buffer, a string, a list, or missing. */
type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
type Headers = Record<string, HeaderValue>;

const kafkaHeaderGetter: TextMapGetter<Headers | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map(String) : value.toString();
  },
};

/** The trace a record's headers carry; the root context (a new trace) when they carry none. */
export function contextFromHeaders(headers: Headers | undefined): Context {
  if (!provider) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, kafkaHeaderGetter);
}

/**
 * `headers` with the current span's trace in them (traceparent, tracestate), replacing any
 * carried before: what a record written now continues. Unchanged when tracing is off.
 */
export function withTraceHeaders<H extends Headers>(headers: H | undefined): H | undefined {
  if (!provider) return headers;
  const trace: Record<string, string> = {};
  propagation.inject(context.active(), trace);
  if (Object.keys(trace).length === 0) return headers;
  return { ...(headers ?? ({} as H)), ...trace };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The trace to continue; by default the current one. */
  parent?: Context;
}

/**
 * Runs `work` in a span named `name`, current for everything `work` calls; the span records
 * an error `work` throws and ends when it settles. With tracing off, just runs `work`.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | null) => Promise<T>,
): Promise<T> {
  if (!provider) return work(null);
  const parent = options.parent ?? context.active();
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
      parent,
    );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };

/**
 * Records a span that has already happened, from `startTime` until now, continuing the trace in
 * `headers`, and returns the headers carrying it, so that what comes next nests under it: a
 * record's wait in a delay tier (from its append to its release), say. Unchanged when off.
 */
export function recordHop<H extends Headers>(
  name: string,
  headers: H | undefined,
  startTime: number,
  attributes: Attributes,
): H | undefined {
  if (!provider) return headers;
  const parent = contextFromHeaders(headers);
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: SpanKind.CONSUMER, attributes, startTime }, parent);
  const carried: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carried);
  span.end();
  return { ...(headers ?? ({} as H)), ...carried };
}

/**
 * What a provider call's span says of its result: ok, or the failure's category and code (never
 * the recipient or the content).
 */
export function callOutcomeAttributes(
  result: { ok: true } | { ok: false; error: { category: string; code: string } },
): Attributes {
  return result.ok
    ? { 'herald.outcome': 'ok' }
    : {
        'herald.outcome': result.error.category,
        'herald.error.code': result.error.code,
      };
}

/** Who a provider call's span is about: the message, its tenant, provider, channel and attempt. */
export function providerCallAttributes(task: {
  messageId: string;
  tenantId: string;
  provider: string;
  channel: string;
  attempt: number;
}): Attributes {
  return {
    'herald.message_id': task.messageId,
    'herald.tenant_id': task.tenantId,
    'herald.provider': task.provider,
    'herald.channel': task.channel,
    'herald.attempt': task.attempt,
  };
}

/**
 * A provider call (`send` by the sender, `status` by the status checker) as a client span of
 * the message's trace, saying who it is about and how the provider answered.
 */
export function inProviderCallSpan<
  R extends { ok: true } | { ok: false; error: { category: string; code: string } },
>(
  operation: 'send' | 'status',
  task: Parameters<typeof providerCallAttributes>[0],
  call: () => Promise<R>,
): Promise<R> {
  return inSpan(
    `provider ${task.provider} ${operation}`,
    { kind: SpanKind.CLIENT, attributes: providerCallAttributes(task) },
    async (span) => {
      const result = await call();
      span?.setAttributes(callOutcomeAttributes(result));
      return result;
    },
  );
}
