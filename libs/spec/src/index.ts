export * from './graph-spec.schema';
export * from './graph.diagnostic';
export * from './tensor-ref.parser';
export * from './source-locator';
export * from './graph-spec.parser';
export * from './graph-structure.validator';
export * from './graph-typing';
export { suggest } from './did-you-mean';
