export * from './built-ins';
export * from './duration';
export * from './policy-file';
export * from './registry';
export * from './schedules';
