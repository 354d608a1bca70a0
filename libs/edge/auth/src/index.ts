export * from './api-key-store';
export * from './api-keys';
export * from './recipient-tokens';
export * from './secret-keys';
