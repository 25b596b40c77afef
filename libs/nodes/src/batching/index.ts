export * from './dynamic.batcher';
export * from './batching.validator';
export * from './tensor-batch';
