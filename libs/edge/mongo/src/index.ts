export * from './mongo-client';
export * from './duplicate-keys';
export * from './message-claims';
export * from './read-model-store';
