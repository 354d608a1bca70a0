export * from './consumers';
export * from './dead-letter';
export * from './message-request';
export * from './steps';
export * from './transactional-committer';
export * from './event-builder';
export * from './status-checks';
export * from './scheduled-work';
