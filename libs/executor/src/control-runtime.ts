import type { TensorMap } from '@infergraph/protocol';
import type { GraphTracer } from './graph.tracer';
import type { RequestContext } from './request-context';

export interface RouteDecision {
  readonly route: string;
  /** Shadow branches mirrored for this request. */
  readonly shadows: readonly string[];
}

/** Routing logic of one router node; runs in the executor whatever transport the graph uses. */
export interface RouterRuntime {
  decide(inputs: TensorMap, ctx: RequestContext): RouteDecision;
}

export interface CombinerBranchInput {
  /** Producing node, or undefined for graph inputs. */
  readonly source: string | undefined;
  readonly tensors: TensorMap;
}

/** Ensemble logic of one combiner node; the executor applies the join policy before calling it. */
export interface CombinerRuntime {
  combine(branches: readonly CombinerBranchInput[], ctx: RequestContext): Promise<TensorMap>;
}

export interface ControlRuntimes {
  readonly routers: ReadonlyMap<string, RouterRuntime>;
  readonly combiners: ReadonlyMap<string, CombinerRuntime>;
}

/** Outcome of a shadow node, reported after the caller has its answer. */
export interface ShadowResult {
  readonly graph: string;
  readonly requestId: string;
  readonly node: string;
  readonly router: string | undefined;
  readonly status: 'ok' | 'failed';
  readonly error: string | undefined;
  readonly durationMs: number;
}

/** One node's outcome in one request (for metrics and logs; no tensors). */
export interface NodeResult {
  readonly graph: string;
  readonly node: string;
  /** For logs only: never a metric label. */
  readonly requestId: string;
  readonly type: string;
  /**
   * `cancelled`: failed after the request had its answer (a branch no longer needed), or, for a call served
   * on a worker, after its caller cancelled it; not the request's failure.
   */
  readonly status: 'ok' | 'skipped' | 'error' | 'cancelled';
  readonly seconds: number;
  /** Routers: the route taken. */
  readonly route?: string;
}

export interface ExecutorHooks {
  onShadowResult?(result: ShadowResult): void;
  onNodeResult?(result: NodeResult): void;
  /** Span per node call (model, transformer, detector, combiner); undefined when tracing is off. */
  readonly tracer?: GraphTracer;
}
