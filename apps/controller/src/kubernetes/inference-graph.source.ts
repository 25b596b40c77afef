import { API_VERSION } from '@infergraph/spec';
import type { KubeObject } from '@infergraph/kube';

/**
 * The graph document of an InferenceGraph object, as the validator reads graph files: its name and spec
 * (status, labels and the API server's fields left out). Written as indented JSON, which is YAML, so the
 * validator's line:column positions point into a readable text.
 */
export function graphSourceOf(object: KubeObject): string {
  return `${JSON.stringify({ apiVersion: API_VERSION, kind: 'InferenceGraph', metadata: { name: object.metadata.name }, spec: object.spec ?? null }, null, 2)}\n`;
}
