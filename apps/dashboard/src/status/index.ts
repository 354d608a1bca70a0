export * from './status.controller';
export * from './status.service';
export * from './status-view';
