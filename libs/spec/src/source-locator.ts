import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** Maps YAML paths to line:column in the source text (1-based). */
export class SourceLocator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Position of the deepest node along `path`. For a missing key this is its parent mapping,
   * which is where the key must be added.
   */
  locate(path: readonly (string | number)[]): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const part of path) {
      const next = child(node, part);
      if (next === undefined) break;
      const start = rangeStart(next.valueNode) ?? rangeStart(next.keyNode);
      if (start !== undefined) offset = start;
      node = next.valueNode;
      if (node === null || node === undefined) {
        offset = rangeStart(next.keyNode) ?? offset;
        break;
      }
    }
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** Position of a mapping key itself (for "unknown field" problems). */
  locateKey(path: readonly (string | number)[]): { line: number; column: number } {
    const parent = path.slice(0, -1);
    const last = path[path.length - 1];
    let node: unknown = this.doc.contents;
    for (const part of parent) {
      const next = child(node, part);
      if (next === undefined) return this.locate(path);
      node = next.valueNode;
    }
    const found = last === undefined ? undefined : child(node, last);
    const start = rangeStart(found?.keyNode);
    if (start === undefined) return this.locate(path);
    const pos = this.lines.linePos(start);
    return { line: pos.line, column: pos.col };
  }
}

function child(node: unknown, part: string | number): { keyNode: unknown; valueNode: unknown } | undefined {
  if (isMap(node)) {
    for (const item of node.items) {
      if (isPair(item)) {
        const key: unknown = isScalar(item.key) ? item.key.value : item.key;
        if (key === part || String(key) === String(part)) return { keyNode: item.key, valueNode: item.value };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof part === 'number') {
    const item = node.items[part];
    return item === undefined ? undefined : { keyNode: undefined, valueNode: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const range = (node as Node).range;
  return range ? range[0] : undefined;
}
