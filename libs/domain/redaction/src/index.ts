export * from './redact';
export * from './sensitive-names';
export * from './truncate';
