import { API_VERSION } from '@infergraph/spec';
import type { KubeObject } from '@infergraph/kube';

/**
 * The label that makes an InferenceGraph object one version of a graph of another name: objects `iris-v1` and
 * `iris-v2`, both labelled `infergraph.dev/graph: iris`, with `spec.version` "1" and "2", serve two versions
 * of graph `iris` side by side. Without it the object's name is the graph's name.
 */
export const GRAPH_NAME_LABEL = 'infergraph.dev/graph';

/** The name of the graph an InferenceGraph object is a version of: its GRAPH_NAME_LABEL, else its own name. */
export function graphNameOf(object: KubeObject): string {
  return object.metadata.labels?.[GRAPH_NAME_LABEL] ?? object.metadata.name;
}

/**
 * The graph document of an InferenceGraph object, as the validator reads graph files: the graph's name
 * (`graphNameOf`) and the object's spec (status, other labels and the API server's fields left out). Written
 * as indented JSON, which is YAML, so the validator's line:column positions point into a readable text.
 */
export function graphSourceOf(object: KubeObject): string {
  return `${JSON.stringify({ apiVersion: API_VERSION, kind: 'InferenceGraph', metadata: { name: graphNameOf(object) }, spec: object.spec ?? null }, null, 2)}\n`;
}
