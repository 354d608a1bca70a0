export * from './mongo-client';
export * from './duplicate-keys';
