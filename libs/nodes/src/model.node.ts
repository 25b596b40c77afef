import {
  echoText,
  formatShape,
  invalidArgument,
  isFloatDatatype,
  shapeMismatch,
  shapesCompatible,
  type Tensor,
  type TensorMap,
  type TensorSpec,
} from '@infergraph/protocol';
import type { NodeRuntime, RequestContext } from '@infergraph/executor';
import type { GraphProblem } from '@infergraph/spec';
import type { ModelSession } from './model-session.port';
import type { DynamicBatcher } from './batching/dynamic.batcher';

export interface ModelNodeOptions {
  readonly allowNonFinite: boolean;
  /** With `model.batching`: checked requests queue here and run stacked with concurrent ones. */
  readonly batcher?: DynamicBatcher | undefined;
}

/**
 * Runs one model: checks the tensors it receives against the model's own metadata, then infers, alone
 * or in a batch. Checking first keeps one bad request from failing the batch it would have joined.
 */
export class ModelNode implements NodeRuntime {
  constructor(
    private readonly name: string,
    private readonly session: ModelSession,
    private readonly options: ModelNodeOptions,
  ) {}

  infer(inputs: TensorMap, ctx?: RequestContext): Promise<TensorMap> {
    // Not an async function (one promise fewer per request); a failed check still rejects.
    try {
      this.check(inputs);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const batcher = this.options.batcher;
    return batcher === undefined ? this.session.run(inputs) : batcher.submit(inputs, ctx?.end, ctx?.expiresAt, ctx);
  }

  private check(inputs: TensorMap): void {
    for (const name of inputs.keys()) {
      if (!this.session.inputs.some((s) => s.name === name)) {
        throw invalidArgument(`node "${this.name}": model has no input "${echoText(name)}" (inputs: ${names(this.session.inputs)})`);
      }
    }
    for (const spec of this.session.inputs) {
      const t = inputs.get(spec.name);
      if (t === undefined) throw invalidArgument(`node "${this.name}": missing model input "${spec.name}"`);
      if (t.datatype !== spec.datatype) {
        throw invalidArgument(`node "${this.name}": input "${spec.name}" must be ${spec.datatype}, got ${t.datatype}`);
      }
      const problem = shapeMismatch(spec.shape, t.shape);
      if (problem !== undefined) throw invalidArgument(`node "${this.name}": input "${spec.name}": ${problem}`);
      if (!this.options.allowNonFinite && isFloatDatatype(t.datatype) && t.datatype !== 'FP16') {
        const bad = firstNonFinite(t);
        if (bad !== undefined) {
          throw invalidArgument(
            `node "${this.name}": input "${spec.name}" element ${bad.index} is ${bad.value}; this model does not accept NaN or Infinity (set model.allowNonFinite: true to pass them through)`,
          );
        }
      }
    }
  }
}

function firstNonFinite(t: Tensor): { index: number; value: number } | undefined {
  const data = t.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) return { index: i, value: v };
  }
  return undefined;
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`).join(', ');
}

/** Static check of what a model node receives against the model's inputs; returns its outputs. */
export function typeModelNode(
  nodeIndex: number,
  session: ModelSession,
  incoming: readonly TensorSpec[],
): { outputs: readonly TensorSpec[]; problems: GraphProblem[] } {
  const path = ['spec', 'nodes', nodeIndex, 'inputs'];
  const problems: GraphProblem[] = [];
  for (const t of incoming) {
    if (!session.inputs.some((s) => s.name === t.name)) {
      problems.push({
        path,
        message: `model has no input "${t.name}" (model inputs: ${names(session.inputs)}); select tensors explicitly or rename with tensorMap`,
      });
    }
  }
  for (const spec of session.inputs) {
    const t = incoming.find((i) => i.name === spec.name);
    if (t === undefined) {
      problems.push({
        path,
        message: `model input "${spec.name}" ${spec.datatype} ${formatShape(spec.shape)} is not fed (node receives: ${incoming.map((i) => i.name).join(', ') || 'nothing'}); use tensorMap to rename`,
      });
    } else if (t.datatype !== spec.datatype) {
      problems.push({ path, message: `model input "${spec.name}" is ${spec.datatype}, but receives ${t.datatype}` });
    } else if (!shapesCompatible(spec.shape, t.shape)) {
      problems.push({
        path,
        message: `model input "${spec.name}" has shape ${formatShape(spec.shape)}, incompatible with ${formatShape(t.shape)}`,
      });
    }
  }
  return { outputs: session.outputs, problems };
}
