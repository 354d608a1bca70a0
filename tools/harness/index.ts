export * from './build';
export * from './infra';
export * from './processes';
export * from './wait';
export * from './keys';
