import { CommandError, UsageError } from './cli.command';

/** One tensor as JSON: what predict prints and sends. */
export interface JsonTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[];
}

export interface V2Request {
  readonly id?: string;
  readonly inputs: readonly JsonTensor[];
  readonly parameters?: Record<string, unknown>;
  readonly outputs?: readonly unknown[];
}

/** The graph's declared inputs, from `GET /v2/models/<graph>`. */
export type InputSignature = readonly { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }[];

/**
 * The request `--data` describes: a V2 request (`{"inputs": [...]}`) as is, or the short form
 * `{"<input>": <nested array>, ...}`, whose datatypes come from the graph's metadata and whose shapes
 * are the arrays' own.
 */
export function requestOf(data: unknown, signature: () => Promise<InputSignature>): Promise<V2Request> | V2Request {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError('--data must be a JSON object: a V2 request {"inputs": [...]} or {"<input name>": <array>, ...}');
  }
  if ('inputs' in data) return data as V2Request;
  return shortForm(data as Record<string, unknown>, signature);
}

async function shortForm(data: Record<string, unknown>, signature: () => Promise<InputSignature>): Promise<V2Request> {
  const declared = await signature();
  const inputs = Object.entries(data).map(([name, value]): JsonTensor => {
    const spec = declared.find((d) => d.name === name);
    if (spec === undefined) {
      throw new CommandError(`--data names input "${name}", which the graph does not declare (inputs: ${declared.map((d) => d.name).join(', ') || 'none'})`);
    }
    const { shape, flat } = flatten(value, name);
    // One row given for a graph that takes rows: add the batch dimension.
    const fitted = shape.length === spec.shape.length - 1 ? [1, ...shape] : shape;
    return { name, datatype: spec.datatype, shape: fitted, data: flat };
  });
  return { inputs };
}

/** Shape and row-major values of a nested array (a scalar has shape []). */
export function flatten(value: unknown, name: string): { shape: number[]; flat: unknown[] } {
  const shape: number[] = [];
  for (let at = value; Array.isArray(at); at = at[0] as unknown) shape.push(at.length);
  const flat: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new UsageError(`--data input "${name}" is a ragged array: every row must have the same length`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new UsageError(`--data input "${name}" is a ragged array: every row must have the same length`);
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { shape, flat };
}

/** What one prediction answered, whichever wire it took. */
export interface PredictResult {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly outputs: readonly JsonTensor[];
  readonly parameters?: Record<string, unknown>;
}
