/** One node of one graph, by name (a type, not an interface, so it serves as a metric label set). */
export type NodeRef = { readonly graph: string; readonly node: string };

/**
 * The name of one graph node everywhere outside its graph: `"<graph>.<node>"`, the V2 model name a worker
 * serves the node under, the placement and routing-table key, and the node label of metrics. Graph and
 * node names are DNS-1123 labels (`dnsLabel`), so neither contains a "." and the key has exactly one.
 */
export const NodeKey = {
  /**
   * The node part of a key that names a whole graph run as one call on a worker (`"<graph>.*"`; no node
   * is named "*").
   */
  WHOLE_GRAPH: '*',

  format(graph: string, node: string): string {
    return `${graph}.${node}`;
  },

  /** The graph and node a key names; undefined unless it is two non-empty names around one ".". */
  parse(key: string): NodeRef | undefined {
    const dot = key.indexOf('.');
    if (dot <= 0 || dot === key.length - 1 || key.indexOf('.', dot + 1) >= 0) return undefined;
    return { graph: key.slice(0, dot), node: key.slice(dot + 1) };
  },

  /** The graph part of a key (what precedes its "."); undefined for a malformed key. */
  graphOf(key: string): string | undefined {
    return NodeKey.parse(key)?.graph;
  },
} as const;
