export * from './model-session.port';
export * from './model.node';
export * from './pass-through.node';
