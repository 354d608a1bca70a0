export * from './window';
export * from './incidents';
