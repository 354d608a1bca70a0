export * from './stored-values';
export * from './message-document';
export * from './event-document';
export * from './api-shapes';
export * from './list-query';
export * from './feed';
export * from './write-behind';
