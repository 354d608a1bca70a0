export * from './config';
export * from './kafka-security';
export * from './provider-settings';
export * from './policy-file-loader';
export * from './log-lines';
