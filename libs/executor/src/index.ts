export * from './request-context';
export * from './node-transport';
export * from './graph-plan';
export * from './graph-input.checker';
export * from './control-runtime';
export * from './node-outcome';
export * from './join';
export * from './graph.executor';
