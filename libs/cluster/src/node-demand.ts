import { parseBytes, parseCpu, type ReplicaDemand } from '@infergraph/placement';
import { GATEWAY_POOL, NodeKey, type GraphSpec, type NodeSpec, type NodeType } from '@infergraph/spec';

/** Node types that run on workers; routers, combiners and drift detectors run in the gateway. */
export const PLACED_NODE_TYPES: readonly NodeType[] = ['model', 'transformer', 'outlier'];

const DEFAULT_POOL = 'cpu';
const DEFAULT_CPU = 0.25;
const MI = 1024 * 1024;
const DEFAULT_MEMORY = 64 * MI;
const UNKNOWN_MODEL_MEMORY = 256 * MI;

/** A node's replica demand, and whether the graph declared its replica count (else the cluster default applies). */
export interface NodeDemand extends ReplicaDemand {
  readonly declaredReplicas: boolean;
}

/**
 * One replica demand per node that runs on workers (not those in the "gateway" pool), in node order. Unset resources default to pool "cpu",
 * 0.25 cores, no GPU memory and 64Mi of memory; a model node without `resources.memory` is estimated at
 * twice its model file plus 64Mi (256Mi when `modelBytes`, called with the node name, does not know the size).
 */
export function demandsOf(graph: GraphSpec, file: string, modelBytes: (node: string) => number | undefined): NodeDemand[] {
  const name = graph.metadata.name;
  return graph.spec.nodes
    .filter((node) => PLACED_NODE_TYPES.includes(node.type) && node.resources?.pool !== GATEWAY_POOL)
    .map((node) => demandOf(name, graph.spec.version, file, node, modelBytes));
}

function demandOf(graph: string, version: string, file: string, node: NodeSpec, modelBytes: (node: string) => number | undefined): NodeDemand {
  const resources = node.resources;
  const where = `graph "${graph}"${version === NodeKey.UNVERSIONED ? '' : ` version ${version}`} (${file}) node "${node.name}"`;
  const parse = <T>(field: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      throw new Error(`${where} resources.${field}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };
  return {
    key: NodeKey.format(graph, node.name, version),
    pool: resources?.pool ?? DEFAULT_POOL,
    cpu: parse('cpu', () => parseCpu(resources?.cpu ?? DEFAULT_CPU)),
    memory: parse('memory', () => (resources?.memory === undefined ? defaultMemory(node, modelBytes) : parseBytes(resources.memory))),
    gpuMemory: parse('gpuMemory', () => parseBytes(resources?.gpuMemory ?? 0)),
    replicas: typeof node.replicas === 'object' ? node.replicas.min : (node.replicas ?? 1),
    declaredReplicas: node.replicas !== undefined,
  };
}

function defaultMemory(node: NodeSpec, modelBytes: (node: string) => number | undefined): number {
  if (node.type !== 'model') return DEFAULT_MEMORY;
  const size = modelBytes(node.name);
  // An ONNX session holds the weights once more than the file, plus the runtime's own arena.
  return size === undefined ? UNKNOWN_MODEL_MEMORY : 2 * size + DEFAULT_MEMORY;
}
