import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { NodeType } from './graph-spec.schema';

/** Fields holding a path relative to the graph file, per node type (`libs/spec`: model, custom modules, detector references). */
const PATH_FIELDS: Readonly<Record<NodeType, readonly (readonly string[])[]>> = {
  model: [['model', 'uri']],
  transformer: [['transformer', 'module']],
  combiner: [['combiner', 'module']],
  outlier: [['outlier', 'reference', 'path']],
  drift: [['drift', 'reference', 'path']],
  router: [],
};

export interface PathRewrite {
  /** e.g. `spec.nodes[0].model.uri`. */
  readonly field: string;
  readonly from: string;
  readonly to: string;
}

export interface AbsolutizedGraph {
  /** The document with each rewritten value replaced in place; every other byte as given. */
  readonly text: string;
  /** `metadata.name` when it is a string. */
  readonly name: string | undefined;
  readonly rewritten: readonly PathRewrite[];
}

/**
 * Rewrites the relative paths of a graph document (model files, custom modules, detector references) to
 * absolute ones resolved against `baseDir`, so the document means the same stored anywhere else. Only the
 * values change: comments, layout and every other byte stay as given. `model.uri` URLs (`file://…`) stay.
 * A document YAML cannot parse comes back unchanged, for the validator to report.
 */
export function absolutizeGraphPaths(text: string, baseDir: string): AbsolutizedGraph {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { text, name: undefined, rewritten: [] };
  const name = doc.getIn(['metadata', 'name']);
  const edits = new Map<number, { end: number; replacement: string }>();
  const rewritten: PathRewrite[] = [];
  const nodes = doc.getIn(['spec', 'nodes'], true);
  const items = isSeq(nodes) ? nodes.items : [];
  items.forEach((item, index) => {
    const node = resolved(doc, item);
    if (!isMap(node)) return;
    const type = resolved(doc, node.get('type', true));
    if (!isScalar(type) || typeof type.value !== 'string' || !Object.hasOwn(PATH_FIELDS, type.value)) return;
    for (const field of PATH_FIELDS[type.value as NodeType]) {
      const valueNode = getPath(doc, node, field);
      const target = resolved(doc, valueNode);
      if (!valueNode?.range || !isScalar(target) || typeof target.value !== 'string') continue;
      const from = target.value;
      const isUrl = field[1] === 'uri' && /^[a-z][a-z0-9+.-]*:\/\//i.test(from);
      if (from === '' || isUrl || path.isAbsolute(from)) continue;
      const to = path.resolve(baseDir, from);
      // An alias is replaced by the value itself, so its anchor (maybe used elsewhere) keeps its meaning.
      const [start, end] = valueNode.range;
      const tail = text.slice(start, end).endsWith('\n') ? '\n' : '';
      edits.set(start, { end, replacement: JSON.stringify(to) + tail });
      rewritten.push({ field: `spec.nodes[${index}].${field.join('.')}`, from, to });
    }
  });
  let out = text;
  for (const [start, { end, replacement }] of [...edits].sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + replacement + out.slice(end);
  return { text: out, name: typeof name === 'string' ? name : undefined, rewritten };
}

function resolved(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** The node at `keys` under `from`, following aliases on the way (not at the end). */
function getPath(doc: Document, from: unknown, keys: readonly string[]): Node | undefined {
  let node: unknown = from;
  for (const key of keys) {
    const map = resolved(doc, node);
    if (!isMap(map)) return undefined;
    node = map.get(key, true);
  }
  return node === undefined || node === null ? undefined : (node as Node);
}
