export * from './kafka-client';
export * from './read-to-end';
