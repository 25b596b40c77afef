export * from './engine.metrics';
