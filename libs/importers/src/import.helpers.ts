import type { ImportIssue, ImportMapping, ModelMapping, SourceDocument, TensorDecl } from './import.types';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function docPath(doc: SourceDocument, path: string): string {
  return `documents[${doc.index}].${path}`;
}

/** Collects issues of one document; every field read is checked against the fields the importer knows. */
export class IssueSink {
  readonly issues: ImportIssue[] = [];

  unsupported(doc: SourceDocument, path: string, message: string): void {
    this.issues.push({ file: doc.file, path: docPath(doc, path), message, severity: 'unsupported' });
  }

  note(doc: SourceDocument, path: string, message: string): void {
    this.issues.push({ file: doc.file, path: docPath(doc, path), message, severity: 'note' });
  }

  /** Names every field of `obj` not in `known` as unsupported. */
  unknownFields(doc: SourceDocument, path: string, obj: Obj, known: readonly string[]): void {
    for (const key of Object.keys(obj)) if (!known.includes(key)) this.unsupported(doc, `${path}.${key}`, 'not mapped to infergraph: this field has no equivalent and was dropped');
  }
}

/** The graph's request tensors from the mapping file, or an issue and a placeholder the validator will reject. */
export function graphInputs(mapping: ImportMapping, doc: SourceDocument, sink: IssueSink): readonly TensorDecl[] {
  if (mapping.inputs !== undefined && mapping.inputs.length > 0) return mapping.inputs;
  sink.unsupported(doc, 'spec', 'the source format does not declare request tensors: give `inputs` (name, datatype, shape) in the mapping file (--mapping)');
  return [];
}

/** A DNS-1123 label from any name (lowercase, [-a-z0-9]). */
export function dnsName(name: string): string {
  const out = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return out === '' ? 'node' : out.slice(0, 63).replace(/-+$/, '');
}

/** A model node's `model` and `tensorMap` from the mapping entry (or the given uri). */
export function modelNodeFields(mapped: ModelMapping | undefined, uri: string | undefined): Obj {
  const fields: Obj = { model: { uri: mapped?.uri ?? uri ?? '' } };
  if (mapped?.tensorMap !== undefined) fields['tensorMap'] = { ...mapped.tensorMap };
  return fields;
}

/** Graph outputs for a whole model's response: each of its output tensors, from the mapping file. */
export function wholeOutputs(node: string, mapped: ModelMapping | undefined): string[] | undefined {
  return mapped?.outputs?.map((t) => `${node}.outputs.${t}`);
}

export function graphDocument(name: string, labels: Obj, spec: Obj): Record<string, unknown> {
  return { apiVersion: 'infergraph.dev/v1alpha1', kind: 'InferenceGraph', metadata: { name: dnsName(name), labels }, spec };
}
