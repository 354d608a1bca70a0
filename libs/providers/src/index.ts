export * from './http-call';
export * from './provider';
export * from './provider-registry';
export * from './recipient-rules';
export * from './webhook.provider';
