import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Admin } from 'kafkajs';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import { pingKafka, stoppedConsumers } from '@herald/kafka';
import { pingMongo } from '@herald/mongo';
import { registryAuthHeaders, type RegistryCredentials } from '@herald/schema-registry';
import { checkReadiness } from './readiness';
import { HERALD_CONFIG, KAFKA_ADMIN, MONGO_DB } from './tokens';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(MONGO_DB) private readonly db: Db,
  ) {}

  /**
   * The process is up and serving HTTP, and none of its consumers has stopped for good (then a
   * restart is what it needs); says nothing about its dependencies.
   */
  @Get('live')
  live(@Res({ passthrough: true }) response: Response) {
    const stopped = stoppedConsumers();
    if (Object.keys(stopped).length > 0) {
      response.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'consumer_stopped', service: this.config.service, stopped };
    }
    return { status: 'live', service: this.config.service };
  }

  /** Ready only while Kafka, the schema registry and MongoDB all answer right now. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: Response) {
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
