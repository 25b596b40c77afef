import { Controller, Get, Param } from '@nestjs/common';
import { GraphRegistry, type LoadedGraph } from '@infergraph/engine';

/** Operator endpoints: graph load states and detector results. */
@Controller('v1/graphs')
export class GraphsController {
  constructor(private readonly registry: GraphRegistry) {}

  @Get()
  graphs(): unknown {
    return {
      graphs: this.registry.list().map((e) => ({
        name: e.name,
        file: e.file,
        state: e.state,
        version: e.graph?.spec.spec.version,
        loadMs: e.loadMs,
        models: e.graph?.models,
        driftNodes: e.graph === undefined ? undefined : [...e.graph.driftNodes.keys()],
        error: e.error,
        shadow: e.shadow,
        ...batchingOf(e.graph?.batchingStats()),
      })),
    };
  }

  @Get(':graph/nodes/:node/drift')
  drift(@Param('graph') graph: string, @Param('node') node: string): unknown {
    return this.registry.driftStatus(graph, node);
  }
}

/** `batching`: per batched model node, its settings and counters since load (absent without batching). */
function batchingOf(stats: ReturnType<LoadedGraph['batchingStats']> | undefined): { batching?: ReturnType<LoadedGraph['batchingStats']> } {
  return stats === undefined || Object.keys(stats).length === 0 ? {} : { batching: stats };
}
