export * from './delivery-status';
