export * from './attempt';
export * from './event-builder';
export * from './ingest';
export * from './message-request';
export * from './provider-port';
export * from './recipient-rules';
export * from './status-checks';
export * from './tasks';
