/** One problem in a graph file, located precisely enough to fix without searching. */
export interface GraphDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** YAML path, e.g. `spec.nodes[1].model.uri`. */
  readonly path: string;
  readonly message: string;
}

/** A problem before it is located in the source: the path as keys and indexes. */
export interface GraphProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export function formatDiagnostic(d: GraphDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.path}: ${d.message}`;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(document)' : out;
}

/** Thrown when a graph cannot be served; carries every problem found, not only the first. */
export class GraphValidationError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: readonly GraphDiagnostic[],
  ) {
    super(
      `graph ${file} has ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}:\n` +
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
    );
    this.name = 'GraphValidationError';
  }
}
