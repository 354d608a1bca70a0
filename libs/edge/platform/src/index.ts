export * from './platform.module';
export * from './readiness';
export * from './run-service';
export * from './tokens';
export * from './docs.controller';
export * from './openapi';
export * from './delivery.providers';
