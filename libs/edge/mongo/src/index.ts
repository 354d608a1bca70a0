export * from './mongo-client';
export * from './duplicate-keys';
export * from './message-claims';
export * from './read-model-store';
export * from './webhook-endpoints';
export * from './webhook-deliveries';
export * from './message-controls';
export * from './dashboard-sessions';
