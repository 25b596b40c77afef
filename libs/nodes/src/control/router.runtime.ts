import type { TensorMap } from '@infergraph/protocol';
import type { RequestContext, RouteDecision, RouterRuntime } from '@infergraph/executor';
import type { RouterConfig } from '@infergraph/spec';
import { RouteDecider } from '../router/route-decider';

/** A router node: decides the route from the request; passes its inputs through unchanged. */
export class RouterNodeRuntime implements RouterRuntime {
  private readonly decider: RouteDecider;

  constructor(
    config: RouterConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.decider = new RouteDecider(config);
  }

  decide(inputs: TensorMap, ctx: RequestContext): RouteDecision {
    return this.decider.decide({ params: ctx.parameters, headers: ctx.headers, tensors: inputs }, this.random);
  }
}
