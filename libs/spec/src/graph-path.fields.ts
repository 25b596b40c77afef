import { parseDocument } from 'yaml';
import type { NodeSpec } from './graph-spec.schema';

/** What a path field of a node points at: a model file, a custom module (code), or a detector's reference sample. */
export type PathFieldKind = 'model' | 'module' | 'reference';

/** One path-valued field of a node, e.g. `transformer.module`. */
export interface NodePathField {
  readonly kind: PathFieldKind;
  /** Keys under the node, e.g. `['transformer', 'module']`. */
  readonly field: readonly string[];
  readonly value: string;
}

/** The path-valued fields a parsed node sets (model, custom modules, detector references). */
export function pathFieldsOf(node: NodeSpec): NodePathField[] {
  switch (node.type) {
    case 'model':
      return [{ kind: 'model', field: ['model', 'uri'], value: node.model.uri }];
    case 'transformer':
      return node.transformer.module === undefined ? [] : [{ kind: 'module', field: ['transformer', 'module'], value: node.transformer.module }];
    case 'combiner':
      return node.combiner.module === undefined ? [] : [{ kind: 'module', field: ['combiner', 'module'], value: node.combiner.module }];
    case 'outlier':
      return [{ kind: 'reference', field: ['outlier', 'reference', 'path'], value: node.outlier.reference.path }];
    case 'drift':
      return [{ kind: 'reference', field: ['drift', 'reference', 'path'], value: node.drift.reference.path }];
    case 'router':
      return [];
  }
}

/**
 * The YAML paths (`spec.nodes[0].transformer.module`) of every custom-module field a graph document sets,
 * whatever the node's type says and whether or not the rest is valid: a module is code, and where code may
 * come from is decided before validation. Screen the source first (screenGraphSource): this parses it.
 * A document YAML cannot parse has none (the validator reports it).
 */
export function customModuleFields(source: string): string[] {
  const doc = parseDocument(source, { logLevel: 'error' });
  if (doc.errors.length > 0) return [];
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch {
    return [];
  }
  const nodes = isRecord(value) && isRecord(value['spec']) ? value['spec']['nodes'] : undefined;
  if (!Array.isArray(nodes)) return [];
  const fields: string[] = [];
  nodes.forEach((node: unknown, index) => {
    if (!isRecord(node)) return;
    for (const key of ['transformer', 'combiner']) {
      const config = node[key];
      if (isRecord(config) && config['module'] !== undefined && config['module'] !== null) fields.push(`spec.nodes[${index}].${key}.module`);
    }
  });
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
