export * from './kafka-client';
export * from './read-to-end';
export * from './stopped-consumers';
