export * from './projection';
export * from './projector-metrics';
export * from './rebuild';
export * from './decode-records';
