export * from './config';
export * from './provider-settings';
