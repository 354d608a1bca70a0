export * from './destinations';
