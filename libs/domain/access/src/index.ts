export * from './keys';
export * from './principal';
