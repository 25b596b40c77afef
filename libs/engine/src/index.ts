export * from './model-file.resolver';
export * from './graph-file.loader';
export * from './graph.registry';
export * from './graph-inference.service';
export * from './split.transport';
export * from './env.config';
