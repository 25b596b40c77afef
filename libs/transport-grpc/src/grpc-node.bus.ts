import { SplitTransport, type NodeBus, type NodeBusStats, type NodeTransport } from '@infergraph/executor';
import type { GraphSpec } from '@infergraph/spec';
import { GrpcNodeTransport } from './grpc-node.transport';
import type { NodeStreamOptions } from './node-stream.client';
import type { RoutingTableWatcher } from './routing-table.watcher';

/**
 * Node calls over gRPC to worker replicas: every graph's worker nodes go to one `GrpcNodeTransport` (one
 * stream client per worker, shared by all graphs), the rest stay in this process.
 */
export class GrpcNodeBus implements NodeBus {
  readonly kind = 'grpc';

  private constructor(
    private readonly transport: GrpcNodeTransport,
    private readonly routes: RoutingTableWatcher | undefined,
  ) {}

  /** Workers that each hold every node (WORKERS, without a controller). */
  static toWorkers(workers: readonly string[], options: NodeStreamOptions = {}): GrpcNodeBus {
    return new GrpcNodeBus(new GrpcNodeTransport(workers, options), undefined);
  }

  /** Workers the controller's routing table names for each node key; the bus starts and stops the watcher. */
  static routedBy(routes: RoutingTableWatcher, options: NodeStreamOptions = {}): GrpcNodeBus {
    const transport = new GrpcNodeTransport((key) => routes.addressesFor(key), options);
    // Workers that left the table (gone, evicted, moved pods) are let go once their calls in flight end.
    routes.onChange(() => transport.retain(routes.routedAddresses()));
    routes.start();
    return new GrpcNodeBus(transport, routes);
  }

  /** The graph's version names its nodes on workers (`"<graph>@<version>.<node>"`), so each version reaches its own replicas. */
  forGraph(graph: GraphSpec, local: NodeTransport): NodeTransport {
    return new SplitTransport(graph, this.transport.forVersion(graph.spec.version), local);
  }

  /** Yes: a stream message costs about as much as a model run of a small batch, so it is paid per batch. */
  stacksBatches(): boolean {
    return true;
  }

  stats(): NodeBusStats {
    return { kind: this.kind, ...this.transport.stats() };
  }

  close(): Promise<void> {
    this.routes?.stop();
    this.transport.close();
    return Promise.resolve();
  }
}
