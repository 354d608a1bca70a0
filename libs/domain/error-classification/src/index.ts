export * from './http-response';
export * from './retry-after';
export * from './transport-error';
