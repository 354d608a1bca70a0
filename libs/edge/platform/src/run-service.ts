import { Logger, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { REQUEST_LIMITS } from '@herald/decisions';
import { ConfigError, loadConfig, type HeraldConfig, type ServiceName } from '@herald/config';
import { setDestinationPolicy } from '@herald/providers';
import { feedCors } from './feed-cors';
import { logProcessWarnings, serviceLogging } from './logging';

/**
 * The whole of every app's main.ts: read and validate the configuration, build the app module
 * from it, serve HTTP, and exit non-zero with a readable reason when anything fails at start.
 */
export async function runService(
  service: ServiceName,
  buildModule: (config: HeraldConfig) => DynamicModule,
  /** What an app adds to Express before it listens (the dashboard: headers, forms, assets). */
  configure?: (app: NestExpressApplication, config: HeraldConfig) => void,
): Promise<void> {
  let config: HeraldConfig;
  try {
    config = loadConfig(service);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`herald-${service}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Before anything can call out: provider and webhook calls obey the configured destinations.
  setDestinationPolicy(config.destinations);
  // From here on every line (Nest's, kafkajs's through the platform module, Node's warnings)
  // goes through one writer: JSON lines, or Nest's text on a terminal (see logging.ts).
  const logging = serviceLogging(config);
  if (config.logFormat === 'json') logProcessWarnings(logging.writer);
  Logger.overrideLogger(logging.logger);
  const logger = new Logger(`herald-${service}`);
  try {
    const app = await NestFactory.create<NestExpressApplication>(buildModule(config), {
      // Filters by HERALD_LOG_LEVEL itself.
      logger: logging.logger,
      abortOnError: false,
      // Parsed below, with Herald's limit rather than the framework's default 100 kB.
      bodyParser: false,
    });
    app.useBodyParser('json', { limit: REQUEST_LIMITS.bodyBytes });
    app.enableShutdownHooks();
    const cors = feedCors(config.access.feedCorsOrigins);
    if (cors) app.use(cors);
    configure?.(app, config);
    await app.listen(config.httpPort, config.httpHost);
    logger.log(`listening on http://${config.httpHost}:${config.httpPort}`);
  } catch (error) {
    logger.error(`failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
}
