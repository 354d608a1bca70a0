import { Controller, Get, Header } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';

// Process metrics (RSS, heap, event-loop lag, GC) for every service, registered once.
collectDefaultMetrics();

/**
 * Prometheus metrics of this process: the defaults plus whatever the service registers on
 * prom-client's default registry (e.g. the projector's herald_projector_events_applied_total and
 * lag summaries, apps/projector/src/projector.metrics.ts). Scraped by operators' Prometheus and
 * by the benchmarks.
 */
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('content-type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}
