import type { Datatype, Tensor, TensorData } from '@infergraph/protocol';

/**
 * The API of user modules referenced from a graph (`transformer.module`, `combiner.module`).
 * A module exports a function by name; it may be async.
 *
 * ```ts
 * import type { CustomTransform } from 'infergraph';
 * export const transform: CustomTransform = (inputs, ctx) => [
 *   { name: 'doubled', datatype: 'FP32', shape: inputs.x.shape, data: Array.from(inputs.x.data as Float32Array, (v) => v * 2) },
 * ];
 * ```
 * Throw an error with `statusCode: 400` (or `code: 'INVALID_ARGUMENT'`) to reject the request as a
 * bad request; any other throw is a server error naming the graph and node.
 */
export interface CustomContext {
  readonly graph: string;
  readonly node: string;
  readonly requestId: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Aborted when the request ends: it has its answer (a join no longer needs this branch), failed, or
   * passed its deadline. Long work should stop on it; what it returns after that is discarded.
   */
  readonly signal: AbortSignal;
}

/** A tensor a module returns: typed-array data, or a plain flat array converted for the datatype. */
export interface CustomTensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData | readonly (number | string | boolean | bigint)[];
}

export type CustomTransform = (
  inputs: Readonly<Record<string, Tensor>>,
  ctx: CustomContext,
) => readonly CustomTensor[] | Promise<readonly CustomTensor[]>;

export interface CustomBranch {
  /** The node the branch comes from (undefined for graph inputs). */
  readonly source: string | undefined;
  readonly tensors: Readonly<Record<string, Tensor>>;
}

export type CustomCombine = (
  branches: readonly CustomBranch[],
  ctx: CustomContext,
) => readonly CustomTensor[] | Promise<readonly CustomTensor[]>;
