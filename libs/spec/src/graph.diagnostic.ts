/** One problem in a graph file, located precisely enough to fix without searching. */
export interface GraphDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** YAML path, e.g. `spec.nodes[1].model.uri`. */
  readonly path: string;
  readonly message: string;
  /** `note`: context for the problems around it (what was not checked and why), not a problem itself. */
  readonly severity?: 'note';
}

/** A problem before it is located in the source: the path as keys and indexes. */
export interface GraphProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly severity?: 'note';
}

export function formatDiagnostic(d: GraphDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.path}: ${d.severity === 'note' ? 'note: ' : ''}${d.message}`;
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
    const notes = diagnostics.filter((d) => d.severity === 'note').length;
    const problems = diagnostics.length - notes;
    super(
      `graph ${file} has ${problems} problem${problems === 1 ? '' : 's'}${notes === 0 ? '' : ` (and ${notes} note${notes === 1 ? '' : 's'})`}:\n` +
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
    );
    this.name = 'GraphValidationError';
  }
}
