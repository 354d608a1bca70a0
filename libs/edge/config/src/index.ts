export * from './config';
export * from './provider-settings';
export * from './policy-file-loader';
