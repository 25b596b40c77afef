export * from './custom-module.api';
export * from './custom-call';
export * from './module-transformer.node';
