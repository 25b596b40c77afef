export * from './model.store';
export * from './model-store.config';
export * from './model-cache.policy';
export * from './object-source.port';
