import type { TensorMap, TensorSpec } from '@infergraph/protocol';
import type { CombinerBranchInput, CombinerRuntime, RequestContext } from '@infergraph/executor';
import type { CombinerConfig } from '@infergraph/spec';
import { combineBranches } from '../combiner/combine-strategies';
import { asRecord, callCustom, customContext, type CustomOrigin } from '../custom/custom-call';
import type { CustomCombine } from '../custom/custom-module.api';

/** A combiner node: a built-in ensemble strategy, or a user module's `combine` function. */
export class CombinerNodeRuntime implements CombinerRuntime {
  private readonly origin: CustomOrigin;

  constructor(
    graph: string,
    node: string,
    private readonly config: CombinerConfig,
    private readonly custom?: { fn: CustomCombine; outputs: readonly TensorSpec[] },
  ) {
    this.origin = { graph, node, kind: 'combiner' };
  }

  combine(branches: readonly CombinerBranchInput[], ctx: RequestContext): Promise<TensorMap> {
    const custom = this.custom;
    if (custom === undefined) {
      return Promise.resolve(combineBranches(this.config, branches.map((b) => ({ source: b.source ?? 'graph.inputs', tensors: b.tensors }))));
    }
    return callCustom(this.origin, custom.outputs, () =>
      custom.fn(
        branches.map((b) => ({ source: b.source, tensors: asRecord(b.tensors) })),
        customContext(this.origin, ctx),
      ),
    );
  }
}
