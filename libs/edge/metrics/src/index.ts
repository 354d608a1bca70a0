export * from './herald-metrics';
