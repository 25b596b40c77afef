import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { checkGraphInputs } from './graph-input.checker';
import type { GraphPlan, PlanBinding, PlanNode } from './graph-plan';
import type { NodeTransport } from './node-transport';
import type { RequestContext } from './request-context';

export interface NodeTiming {
  readonly node: string;
  readonly type: string;
  /** Milliseconds from the start of the graph request. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: 'ok' | 'error';
}

export interface GraphResult {
  readonly outputs: readonly Tensor[];
  /** Present when the request context asked for a trace. */
  readonly timings: readonly NodeTiming[] | undefined;
}

/**
 * Runs one compiled graph per request: each node starts as soon as the nodes it reads from finish,
 * so independent branches run concurrently. Node computation goes through the transport.
 */
export class GraphExecutor {
  constructor(
    readonly plan: GraphPlan,
    private readonly transport: NodeTransport,
  ) {}

  async execute(inputs: readonly Tensor[], ctx: RequestContext): Promise<GraphResult> {
    checkGraphInputs(this.plan.name, this.plan.inputs, inputs);
    const requestInputs: TensorMap = new Map(inputs.map((t) => [t.name, t]));
    const started = performance.now();
    const timings: NodeTiming[] | undefined = ctx.trace ? [] : undefined;
    const results = new Map<string, Promise<TensorMap>>();

    for (const node of this.plan.nodes) {
      const deps = node.dependsOn.map((d) => results.get(d) as Promise<TensorMap>);
      const run = (deps.length === 0 ? Promise.resolve([]) : Promise.all(deps)).then(() =>
        this.runNode(node, requestInputs, results, ctx, started, timings),
      );
      // Failures surface through the Promise.all below; this keeps later rejections handled.
      run.catch(() => undefined);
      results.set(node.name, run);
    }

    const all = Promise.all(results.values());
    let timer: NodeJS.Timeout | undefined;
    const remaining = ctx.deadline - Date.now();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new InferenceError(
              'DEADLINE_EXCEEDED',
              `graph "${this.plan.name}" did not finish within its deadline (${Math.round(performance.now() - started)} ms elapsed)`,
            ),
          ),
        Math.max(0, remaining),
      );
    });
    try {
      await Promise.race([all, deadline]);
    } finally {
      clearTimeout(timer);
    }
    const outputs: Tensor[] = [];
    for (const out of this.plan.outputBindings) {
      const source = await this.sourceOf(out.binding, requestInputs, results);
      for (const t of select(source, out.binding)) outputs.push(out.name === undefined ? t : { ...t, name: out.name });
    }
    return { outputs, timings };
  }

  private async runNode(
    node: PlanNode,
    requestInputs: TensorMap,
    results: ReadonlyMap<string, Promise<TensorMap>>,
    ctx: RequestContext,
    started: number,
    timings: NodeTiming[] | undefined,
  ): Promise<TensorMap> {
    if (ctx.signal.aborted) throw new InferenceError('DEADLINE_EXCEEDED', `request aborted before node "${node.name}" ran`);
    const gathered = new Map<string, Tensor>();
    for (const binding of node.bindings) {
      const source = await this.sourceOf(binding, requestInputs, results);
      for (const t of select(source, binding)) {
        const qualified = binding.source === undefined ? `graph.inputs.${t.name}` : `${binding.source}.outputs.${t.name}`;
        const renamed = node.tensorMap[qualified] ?? node.tensorMap[t.name];
        gathered.set(renamed ?? t.name, renamed === undefined ? t : { ...t, name: renamed });
      }
    }
    const nodeStart = performance.now();
    try {
      const out = await this.transport.invoke({ graph: this.plan.name, node: node.name, inputs: gathered, ctx });
      timings?.push(timing(node, started, nodeStart, 'ok'));
      return out;
    } catch (err) {
      timings?.push(timing(node, started, nodeStart, 'error'));
      throw wrapNodeError(node.name, err);
    }
  }

  private sourceOf(
    binding: PlanBinding,
    requestInputs: TensorMap,
    results: ReadonlyMap<string, Promise<TensorMap>>,
  ): Promise<TensorMap> | TensorMap {
    if (binding.source === undefined) return requestInputs;
    const result = results.get(binding.source);
    if (result === undefined) throw new Error(`node "${binding.source}" has not been scheduled`);
    return result;
  }
}

function select(source: TensorMap, binding: PlanBinding): Iterable<Tensor> {
  if (binding.tensor === undefined) return source.values();
  const t = source.get(binding.tensor);
  if (t === undefined) {
    const from = binding.source === undefined ? 'the request' : `node "${binding.source}"`;
    throw new InferenceError('INTERNAL', `${from} produced no tensor "${binding.tensor}" (got: ${[...source.keys()].join(', ')})`);
  }
  return [t];
}

function timing(node: PlanNode, started: number, nodeStart: number, status: 'ok' | 'error'): NodeTiming {
  const now = performance.now();
  return { node: node.name, type: node.type, startMs: round(nodeStart - started), durationMs: round(now - nodeStart), status };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function wrapNodeError(node: string, err: unknown): InferenceError {
  if (err instanceof InferenceError) {
    return err.message.startsWith(`node "${node}"`) ? err : new InferenceError(err.code, `node "${node}": ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InferenceError('INTERNAL', `node "${node}" failed: ${message}`, { cause: err });
}
