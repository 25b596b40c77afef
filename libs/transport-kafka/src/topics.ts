import { NodeKey } from '@infergraph/spec';

/** Topic names of one graph: its request stream, and each Kafka-connected node's input and output. */
export interface GraphTopicNames {
  readonly inputs: string;
  readonly outputs: string;
  readonly errors: string;
}

export interface NodeTopicNames {
  readonly inputs: string;
  readonly outputs: string;
}

export function graphTopicNames(prefix: string, graph: string): GraphTopicNames {
  const base = `${prefix}.${graph}`;
  return { inputs: `${base}.inputs`, outputs: `${base}.outputs`, errors: `${base}.errors` };
}

/**
 * A node's topics: `<prefix>.<graph>.<node>.inputs|outputs` for a graph's unversioned version ("1", or
 * `spec.version` unset), `<prefix>.<graph>_v<version>.<node>…` for another one. Graph names never hold "_"
 * (DNS labels) nor node names ".", so no two (graph, version, node) share a topic.
 */
export function nodeTopicNames(prefix: string, graph: string, node: string, version?: string): NodeTopicNames {
  const base = nodeGroupId(prefix, graph, node, version);
  return { inputs: `${base}.inputs`, outputs: `${base}.outputs` };
}

/** The consumer group every replica of one node joins, so replicas share its input partitions. */
export function nodeGroupId(prefix: string, graph: string, node: string, version?: string): string {
  return `${prefix}.${NodeKey.graphId(graph, version).replace('@', '_v')}.${node}`;
}

/** Headers infergraph sets on node records. */
export const HEADER = {
  contentType: 'content-type',
  requestId: 'x-request-id',
  /** Correlates a node's output record with the call that produced its input record. */
  call: 'x-infergraph-call',
  /** The gateway instance waiting for the output. */
  replyTo: 'x-infergraph-reply-to',
  /**
   * "1" on a call record that asks the replica to run the whole graph (its model is "<graph>.*"): it runs it
   * when it holds every node, and otherwise declines (NOT_FOUND, x-error-details {"wholeGraph":"declined"}).
   */
  wholeGraph: 'x-infergraph-whole-graph',
  /** Absolute deadline of the graph request, epoch milliseconds. */
  deadline: 'x-infergraph-deadline',
  error: 'x-error',
  errorStatus: 'x-error-status',
  errorCode: 'x-error-code',
  /** JSON of the error's details (e.g. an outlier's scores). */
  errorDetails: 'x-error-details',
} as const;

export const PROTOBUF = 'application/x-protobuf';
const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf', 'application/vnd.google.protobuf']);

/** Whether a content-type header names protobuf (parameters such as `; messageType=...` ignored). */
export function isProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return PROTOBUF_TYPES.has(contentType.split(';')[0]?.trim().toLowerCase() ?? '');
}

/** Headers a record's answer carries forward: W3C trace context and every x-* header. */
export function passThroughHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  // A loop over the keys, not entries/filter/fromEntries: this runs for every record a stream answers.
  const out: Record<string, string> = {};
  for (const k in headers) {
    if (k === 'traceparent' || k === 'tracestate' || (k.startsWith('x-') && !k.startsWith('x-infergraph-') && !k.startsWith('x-error'))) out[k] = headers[k] as string;
  }
  return out;
}
