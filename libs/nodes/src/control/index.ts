export * from './router.runtime';
export * from './combiner.runtime';
