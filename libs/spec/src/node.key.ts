/** One node of one graph, by name (a type, not an interface, so it serves as a metric label set). */
export type NodeRef = { readonly graph: string; readonly node: string };

/** A node key taken apart: `version` only when the key names one (see `NodeKey.UNVERSIONED`). */
export type NodeKeyParts = NodeRef & { readonly version?: string };

/**
 * The name of one graph node everywhere outside its graph: `"<graph>.<node>"`, or `"<graph>@<version>.<node>"`
 * for a version other than `UNVERSIONED`, so versions side by side are separate replicas. It is the V2
 * model name a worker serves the node under, the placement and routing-table key, and the node label of
 * metrics. The part before the last "." is the graph id (`graphId`), which the cluster uses wherever it
 * names one version of a graph (catalogue, assignments, hellos). Graph and node names are DNS-1123 labels
 * (`dnsLabel`) and versions are letters, digits, ".", "_" and "-", so the node is what follows the last "."
 * and the version what follows the "@".
 */
export const NodeKey = {
  /**
   * The node part of a key that names a whole graph run as one call on a worker (`"<graph>.*"`; no node
   * is named "*").
   */
  WHOLE_GRAPH: '*',

  /** The spec's default version (`spec.version` unset): its keys carry no version, as before versions existed. */
  UNVERSIONED: '1',

  /** `"<graph>"` for the unversioned version (or none given), else `"<graph>@<version>"`. */
  graphId(graph: string, version?: string): string {
    return version === undefined || version === NodeKey.UNVERSIONED ? graph : `${graph}@${version}`;
  },

  /** The graph and version a graph id names; undefined for a malformed id (or one naming `UNVERSIONED`). */
  parseGraphId(id: string): { readonly graph: string; readonly version?: string } | undefined {
    const at = id.indexOf('@');
    const graph = at < 0 ? id : id.slice(0, at);
    if (graph === '' || graph.includes('.')) return undefined;
    if (at < 0) return { graph };
    const version = id.slice(at + 1);
    if (version === '' || version.includes('@') || version === NodeKey.UNVERSIONED) return undefined;
    return { graph, version };
  },

  format(graph: string, node: string, version?: string): string {
    return `${NodeKey.graphId(graph, version)}.${node}`;
  },

  /** The graph, node and version a key names; undefined unless it is a graph id and a non-empty node around its last ".". */
  parse(key: string): NodeKeyParts | undefined {
    const dot = key.lastIndexOf('.');
    if (dot <= 0 || dot === key.length - 1) return undefined;
    const id = NodeKey.parseGraphId(key.slice(0, dot));
    if (id === undefined) return undefined;
    const node = key.slice(dot + 1);
    return id.version === undefined ? { graph: id.graph, node } : { graph: id.graph, node, version: id.version };
  },

  /** The graph id of a key (what precedes its last "."); undefined for a malformed key. */
  graphIdOf(key: string): string | undefined {
    const ref = NodeKey.parse(key);
    return ref === undefined ? undefined : NodeKey.graphId(ref.graph, ref.version);
  },

  /** The graph name of a key, without its version; undefined for a malformed key. */
  graphOf(key: string): string | undefined {
    return NodeKey.parse(key)?.graph;
  },
} as const;
