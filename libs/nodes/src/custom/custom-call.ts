import {
  InferenceError,
  decodeJsonElements,
  elementCount,
  formatShape,
  shapeMismatch,
  type Tensor,
  type TensorMap,
  type TensorSpec,
} from '@infergraph/protocol';
import type { RequestContext } from '@infergraph/executor';
import type { CustomContext, CustomTensor } from './custom-module.api';

/** Identifies a user function in messages: graph, node and what it is. */
export interface CustomOrigin {
  readonly graph: string;
  readonly node: string;
  readonly kind: 'transformer' | 'combiner';
}

export function customContext(origin: CustomOrigin, ctx: RequestContext): CustomContext {
  return new ModuleContext(origin, ctx);
}

/** A module's view of the request; its signal is the request's, made only when the module reads it. */
class ModuleContext implements CustomContext {
  readonly graph: string;
  readonly node: string;
  readonly requestId: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    origin: CustomOrigin,
    private readonly ctx: RequestContext,
  ) {
    this.graph = origin.graph;
    this.node = origin.node;
    this.requestId = ctx.requestId;
    this.parameters = ctx.parameters;
    this.headers = ctx.headers;
  }

  get signal(): AbortSignal {
    return this.ctx.signal;
  }
}

export function asRecord(tensors: TensorMap): Record<string, Tensor> {
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  for (const [name, t] of tensors) out[name] = t;
  return out;
}

/**
 * Calls a user function and checks what it returns against the declared outputs. A throw becomes a
 * 500 naming graph and node, unless the error marks itself as a bad request.
 */
export async function callCustom(
  origin: CustomOrigin,
  declared: readonly TensorSpec[],
  call: () => readonly CustomTensor[] | Promise<readonly CustomTensor[]>,
): Promise<TensorMap> {
  const where = `graph "${origin.graph}" node "${origin.node}"`;
  let returned: unknown;
  try {
    returned = await call();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const e = err as { statusCode?: unknown; code?: unknown };
    if (e?.statusCode === 400 || e?.code === 'INVALID_ARGUMENT') throw new InferenceError('INVALID_ARGUMENT', `${where}: ${message}`, { cause: err });
    throw new InferenceError('INTERNAL', `${where}: custom ${origin.kind} threw: ${message}`, { cause: err });
  }
  if (!Array.isArray(returned)) {
    throw new InferenceError('INTERNAL', `${where}: custom ${origin.kind} must return an array of tensors, got ${typeof returned}`);
  }
  const out = new Map<string, Tensor>();
  for (const raw of returned as CustomTensor[]) {
    const spec = declared.find((d) => d.name === raw?.name);
    if (spec === undefined) {
      throw new InferenceError('INTERNAL', `${where}: custom ${origin.kind} returned undeclared tensor "${String(raw?.name)}" (declared: ${declared.map((d) => d.name).join(', ')})`);
    }
    if (raw.datatype !== spec.datatype) {
      throw new InferenceError('INTERNAL', `${where}: output "${spec.name}" must be ${spec.datatype}, the module returned ${String(raw.datatype)}`);
    }
    const problem = shapeMismatch(spec.shape, raw.shape);
    if (problem !== undefined) throw new InferenceError('INTERNAL', `${where}: output "${spec.name}": ${problem}`);
    const data = ArrayBuffer.isView(raw.data) ? raw.data : decodeJsonElements(raw.data as unknown[], raw.datatype, `${where}: output "${spec.name}" data`);
    const count = elementCount(raw.shape);
    if (data.length !== count) {
      throw new InferenceError('INTERNAL', `${where}: output "${spec.name}" has shape ${formatShape(raw.shape)} (${count} elements) but ${data.length} data elements`);
    }
    out.set(spec.name, { name: spec.name, datatype: raw.datatype, shape: [...raw.shape], data });
  }
  for (const d of declared) {
    if (!out.has(d.name)) throw new InferenceError('INTERNAL', `${where}: custom ${origin.kind} did not return declared output "${d.name}"`);
  }
  return out;
}
