/** A field of a source document that the import could not carry over, or carried over approximately. */
export interface ImportIssue {
  readonly file: string;
  /** Path in the source document, e.g. `spec.steps[1].triggers`. */
  readonly path: string;
  readonly message: string;
  /** `unsupported`: dropped, the graph may behave differently; `note`: mapped, read the note. */
  readonly severity: 'unsupported' | 'note';
}

/** One source document: its file, its index among the file's documents, and its parsed content. */
export interface SourceDocument {
  readonly file: string;
  readonly index: number;
  readonly content: unknown;
}

export interface TensorDecl {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** What a source model (Seldon Model, KServe service) is in infergraph terms. */
export interface ModelMapping {
  readonly uri?: string;
  readonly tensorMap?: Readonly<Record<string, string>>;
  /** The model's output tensor names: needed where a whole step's response becomes graph outputs. */
  readonly outputs?: readonly string[];
}

/**
 * The mapping file: what the source formats leave out. `inputs`: the graph's request tensors (neither
 * format declares them); `models`: by Seldon Model name or KServe serviceName / serviceUrl.
 */
export interface ImportMapping {
  readonly inputs?: readonly TensorDecl[];
  readonly models?: Readonly<Record<string, ModelMapping>>;
}

/** An infergraph graph document, ready to serialise. */
export interface ImportedGraph {
  readonly name: string;
  /** The document the graph came from. */
  readonly from: string;
  readonly document: Record<string, unknown>;
}

export interface ImportResult {
  readonly graphs: readonly ImportedGraph[];
  readonly issues: readonly ImportIssue[];
}

export const INFERGRAPH_API_VERSION = 'infergraph.dev/v1alpha1';
