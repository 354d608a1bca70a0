import { Controller, Get, Header } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
// Herald's own metrics, declared (and registered) in one module: loaded here so every service
// names all of them, whichever it records.
import '@herald/metrics';

// Process metrics (RSS, heap, event-loop lag, GC) for every service, registered once. The loop's
// lag is sampled every second rather than prom-client's 10 ms: the finer timer cost an idle
// service ~0.9% of a core (a wake-up every 10 ms), and a stall worth an alert lasts longer.
collectDefaultMetrics({ eventLoopMonitoringPrecision: 1000 });

/**
 * Prometheus metrics of this process: the defaults plus Herald's (libs/edge/metrics: attempts,
 * provider call latency, retries, status checks, dead letters, consumer lag, commit latency,
 * projection lag, request → sent, webhooks) on prom-client's default registry. Scraped by
 * operators' Prometheus (deploy/grafana/herald-dashboard.json is built on them) and by the
 * benchmarks.
 */
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('content-type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}
