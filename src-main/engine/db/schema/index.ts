export * from './admin';
export * from './checkpoints';
export * from './operation-logs';
export * from './plans';
export * from './restores';
export * from './triggers';
