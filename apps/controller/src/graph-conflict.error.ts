/** A write the catalogue refuses because of where a graph comes from (409): a GRAPHS_DIR file, or a name taken. */
export class GraphConflictError extends Error {
  constructor(
    readonly graph: string,
    message: string,
  ) {
    super(message);
    this.name = 'GraphConflictError';
  }
}
