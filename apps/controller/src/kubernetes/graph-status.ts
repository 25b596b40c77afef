import type { ClusterStatus } from '@infergraph/cluster';
import { NodeKey, type GraphCondition, type InferenceGraphStatus } from '@infergraph/spec';

/** What the operator knows about one InferenceGraph when it writes its status. */
export interface GraphStatusInput {
  /** The graph id the object serves (`NodeKey.graphId`: `iris`, or `iris@2` for a version of its own). */
  readonly name: string;
  /** metadata.generation of the object the status describes. */
  readonly generation: number | undefined;
  /** Validation problems of that generation (undefined: valid). */
  readonly invalid: string | undefined;
  /** The graph in the cluster's desired state (a previous valid version while the latest is invalid), if any. */
  readonly placed: ClusterStatus['graphs'][number] | undefined;
  /** The cluster's pending replicas (every graph's; this graph's are picked out). */
  readonly pending: ClusterStatus['pending'];
  readonly endpoints: { readonly rest: string; readonly grpc: string };
  /** The conditions written last: a condition keeps its lastTransitionTime while its status stays. */
  readonly previous: readonly GraphCondition[] | undefined;
  readonly now: Date;
}

/** Longest message written into a condition; placement can list many replicas. */
const MAX_MESSAGE = 4000;

/**
 * The status subresource of an InferenceGraph: per node the replicas wanted and READY (a leaving copy of a
 * moved replica does not count) and why any wait; conditions Ready (every wanted replica READY),
 * Progressing (replicas still loading or being placed) and Degraded (InvalidSpec with the validator's
 * message, or Unplaceable with placement's reason); the gateway endpoints.
 */
export function graphStatusOf(input: GraphStatusInput): InferenceGraphStatus {
  const name = input.name;
  // A version's pending replicas only: its keys carry its graph id.
  const pending = input.pending.filter((p) => NodeKey.graphIdOf(p.key) === name);
  const nodes = (input.placed?.nodes ?? []).map((n) => {
    const ready = new Set(n.replicas.filter((r) => r.state === 'READY' && r.leaving !== true).map((r) => r.replica)).size;
    const reasons = pending.filter((p) => p.key === n.key).map((p) => `replica ${p.replica}: ${p.reason}`);
    const failed = n.replicas.filter((r) => r.state === 'FAILED').map((r) => `replica ${r.replica} on ${r.worker} failed: ${r.reason}`);
    const waiting = [...reasons, ...failed];
    return {
      name: NodeKey.parse(n.key)?.node ?? n.key,
      wantedReplicas: n.wanted,
      readyReplicas: Math.min(ready, n.wanted),
      ...(waiting.length > 0 ? { pending: clip(waiting.join('; ')) } : {}),
    };
  });
  const allReady = input.placed !== undefined && nodes.every((n) => n.readyReplicas >= n.wantedReplicas);
  const unplaceable = pending.map((p) => `${p.key} replica ${p.replica}: ${p.reason}`);
  const failed = (input.placed?.nodes ?? []).flatMap((n) => n.replicas.filter((r) => r.state === 'FAILED').map((r) => `${n.key} replica ${r.replica} on ${r.worker}: ${r.reason}`));
  const conditions: Omit<GraphCondition, 'lastTransitionTime'>[] = [];
  if (input.invalid !== undefined) {
    const serving = input.placed !== undefined ? ' (the previous valid version keeps serving)' : '';
    conditions.push(
      { type: 'Ready', status: allReady ? 'True' : 'False', reason: 'InvalidSpec', message: clip(`the spec is invalid${serving}: ${input.invalid}`) },
      { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: 'fix the spec; nothing is rolled out meanwhile' },
      { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message: clip(input.invalid) },
    );
  } else if (unplaceable.length > 0 || failed.length > 0) {
    const reason = unplaceable.length > 0 ? 'Unplaceable' : 'ReplicaFailed';
    const message = clip([...unplaceable, ...failed].join('; '));
    conditions.push(
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Progressing', status: 'False', reason, message: 'waiting for capacity or a fix; see Degraded' },
      { type: 'Degraded', status: 'True', reason, message },
    );
  } else if (allReady) {
    const total = nodes.reduce((n, x) => n + x.wantedReplicas, 0);
    const message = `${total} replica(s) of ${nodes.length} node(s) ready`;
    conditions.push(
      { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message },
      { type: 'Progressing', status: 'False', reason: 'AllReplicasReady', message },
      { type: 'Degraded', status: 'False', reason: 'AllReplicasReady', message },
    );
  } else {
    const waiting = nodes.filter((n) => n.readyReplicas < n.wantedReplicas).map((n) => `${n.name} ${n.readyReplicas}/${n.wantedReplicas}`);
    const message = input.placed === undefined ? 'not placed yet' : `replicas loading: ${waiting.join(', ')}`;
    conditions.push(
      { type: 'Ready', status: 'False', reason: 'Placing', message },
      { type: 'Progressing', status: 'True', reason: 'Placing', message },
      { type: 'Degraded', status: 'False', reason: 'Placing', message },
    );
  }
  const at = input.now.toISOString().replace(/\.\d+Z$/, 'Z');
  const status: InferenceGraphStatus = {
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
    conditions: conditions.map((c) => {
      const before = input.previous?.find((p) => p.type === c.type);
      const kept = before !== undefined && before.status === c.status ? before.lastTransitionTime : at;
      return { ...c, lastTransitionTime: kept, ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}) };
    }),
    nodes,
    nodesReady: `${nodes.filter((n) => n.readyReplicas >= n.wantedReplicas).length}/${nodes.length}`,
    endpoints: {
      ...(input.endpoints.rest !== '' ? { rest: `${input.endpoints.rest.replace(/\/$/, '')}/v2/models/${modelPath(name)}` } : {}),
      ...(input.endpoints.grpc !== '' ? { grpc: input.endpoints.grpc } : {}),
    },
  };
  return status;
}

/** The V2 path of a graph id: `iris`, or `iris/versions/2` for a version of its own. */
function modelPath(id: string): string {
  const parsed = NodeKey.parseGraphId(id);
  return parsed?.version === undefined ? (parsed?.graph ?? id) : `${parsed.graph}/versions/${parsed.version}`;
}

function clip(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}
