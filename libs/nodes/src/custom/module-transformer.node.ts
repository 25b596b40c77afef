import type { TensorMap, TensorSpec } from '@infergraph/protocol';
import type { NodeRuntime, RequestContext } from '@infergraph/executor';
import type { CustomTransform } from './custom-module.api';
import { asRecord, callCustom, customContext, type CustomOrigin } from './custom-call';

/** A transformer implemented by a user module's exported function. */
export class ModuleTransformerNode implements NodeRuntime {
  private readonly origin: CustomOrigin;

  constructor(
    graph: string,
    node: string,
    private readonly fn: CustomTransform,
    private readonly outputs: readonly TensorSpec[],
  ) {
    this.origin = { graph, node, kind: 'transformer' };
  }

  infer(inputs: TensorMap, ctx: RequestContext): Promise<TensorMap> {
    return callCustom(this.origin, this.outputs, () => this.fn(asRecord(inputs), customContext(this.origin, ctx)));
  }
}
