/** A parsed tensor reference from a node's `inputs`, a `tensorMap` key or `spec.outputs`. */
export type TensorRef =
  | { readonly kind: 'graph-inputs'; readonly tensor: string | undefined }
  | { readonly kind: 'node'; readonly node: string; readonly tensor: string | undefined };

const NODE_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.outputs(\.(.+))?)?$/;

/**
 * Grammar: `graph.inputs`, `graph.inputs.<tensor>`, `<node>`, `<node>.outputs.<tensor>`.
 * Tensor names may themselves contain dots (ONNX names often do).
 */
export function parseTensorRef(text: string): TensorRef | string {
  if (text === 'graph.inputs') return { kind: 'graph-inputs', tensor: undefined };
  if (text.startsWith('graph.inputs.')) {
    const tensor = text.slice('graph.inputs.'.length);
    return tensor === '' ? 'empty tensor name after "graph.inputs."' : { kind: 'graph-inputs', tensor };
  }
  if (text === 'graph' || text.startsWith('graph.')) {
    return 'graph references must be "graph.inputs" or "graph.inputs.<tensor>"';
  }
  const m = NODE_RE.exec(text);
  if (m === null || (m[3] !== undefined && m[5] === undefined)) {
    return 'expected "graph.inputs", "graph.inputs.<tensor>", "<node>" or "<node>.outputs.<tensor>"';
  }
  return { kind: 'node', node: m[1] as string, tensor: m[5] };
}

export function formatTensorRef(ref: TensorRef): string {
  if (ref.kind === 'graph-inputs') return ref.tensor === undefined ? 'graph.inputs' : `graph.inputs.${ref.tensor}`;
  return ref.tensor === undefined ? ref.node : `${ref.node}.outputs.${ref.tensor}`;
}
