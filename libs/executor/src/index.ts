export * from './request-context';
export * from './node-transport';
export * from './graph-plan';
export * from './graph-input.checker';
export * from './graph.executor';
