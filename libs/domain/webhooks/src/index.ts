export * from './endpoints';
export * from './deliveries';
export * from './delivery-document';
export * from './payload';
