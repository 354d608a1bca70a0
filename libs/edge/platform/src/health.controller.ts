import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Admin } from 'kafkajs';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import { pingKafka, stoppedConsumers, writeHealth } from '@herald/kafka';
import { pingMongo } from '@herald/mongo';
import { registryAuthHeaders, type RegistryCredentials } from '@herald/schema-registry';
import { checkReadiness, isShuttingDown } from './readiness';
import { HERALD_CONFIG, KAFKA_ADMIN, MONGO_DB } from './tokens';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(MONGO_DB) private readonly db: Db,
  ) {}

  /**
   * The process is up and serving HTTP, none of its consumers has stopped for good, and its
   * writes have not failed for longer than HERALD_LIVENESS_WRITE_FAILURE_MS (either way, a
   * restart is what it needs); otherwise says nothing about its dependencies.
   */
  @Get('live')
  live(@Res({ passthrough: true }) response: Response) {
    const stopped = stoppedConsumers();
    if (Object.keys(stopped).length > 0) {
      response.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'consumer_stopped', service: this.config.service, stopped };
    }
    const failing = writeHealth.failing(Date.now(), this.config.livenessWriteFailureMs);
    if (Object.keys(failing).length > 0) {
      response.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'writes_failing', service: this.config.service, failing };
    }
    return { status: 'live', service: this.config.service };
  }

  /**
   * Ready only while Kafka, the schema registry and MongoDB all answer right now, and never
   * once shutdown has begun.
   */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: Response) {
    if (isShuttingDown()) {
      response.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'shutting_down', service: this.config.service };
    }
    const report = await checkReadiness(
      {
        kafka: () => pingKafka(this.admin),
        schemaRegistry: () =>
          pingRegistry(
            this.config.schemaRegistryUrl,
            this.config.readyTimeoutMs,
            this.config.schemaRegistryAuth,
          ),
        mongodb: () => pingMongo(this.db),
      },
      this.config.readyTimeoutMs,
    );
    response.status(report.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return {
      status: report.ready ? 'ready' : 'not_ready',
      service: this.config.service,
      ...report,
    };
  }
}

async function pingRegistry(
  url: string,
  timeoutMs: number,
  auth: RegistryCredentials | undefined,
): Promise<void> {
  const response = await fetch(`${url}/subjects`, {
    headers: registryAuthHeaders(auth),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`GET ${url}/subjects answered ${response.status}`);
}
