import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathFieldsOf, type GraphProblem, type NodeSpec } from '@infergraph/spec';

/** A path a graph asked for, resolved and inside the roots; or why it cannot be used. */
export type ConfinedPath = { readonly path: string } | { readonly error: string };

/** The one message for a path outside the roots: the same whether the file exists or not. */
export function outsideRootsMessage(field: string, requested: string): string {
  return `${field} ${JSON.stringify(requested)} is outside the allowed roots (the graph's directory, GRAPHS_DIR and MODEL_ROOTS)`;
}

/**
 * Resolves what a graph field asks for to an absolute path, lexically (`..` segments collapse): relative to
 * the graph file, absolute, or a file:// URL. Other URL schemes are refused. Does not confine: see confinePath.
 */
export function requestedPath(graphFile: string, requested: string, field: string): ConfinedPath {
  if (/^file:/i.test(requested)) {
    try {
      return { path: fileURLToPath(requested) };
    } catch (err) {
      return { error: `${field} ${JSON.stringify(requested)} is not a valid file:// URL: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(requested)) {
    return { error: `unsupported URI scheme in ${field} ${JSON.stringify(requested)}; use a path relative to the graph file or a file:// URL` };
  }
  return { path: path.resolve(path.dirname(graphFile), requested) };
}

/**
 * Resolves `requested` (see requestedPath) and keeps it only when its real location, symlinks resolved,
 * lies inside the graph file's directory or one of `roots`. The answer for a path outside is the same
 * whether anything exists there or not, so it cannot be used to probe the file system. A path inside that
 * does not exist (yet) comes back resolved: the caller says it is missing.
 */
export function confinePath(graphFile: string, requested: string, roots: readonly string[], field: string, graphDirIsRoot = true): ConfinedPath {
  const asked = requestedPath(graphFile, requested, field);
  if ('error' in asked) return asked;
  const target = realLocation(asked.path);
  const allowed = [...(graphDirIsRoot ? [path.dirname(path.resolve(graphFile))] : []), ...roots].map((r) => realLocation(path.resolve(r)));
  return allowed.some((root) => isInside(root, target)) ? { path: target } : { error: outsideRootsMessage(field, requested) };
}

/**
 * Where graph files may point (models, reference samples, custom modules): the graph file's own directory
 * and these roots (the GRAPHS_DIR entries and MODEL_ROOTS of the process).
 */
export class PathPolicy {
  readonly roots: readonly string[];

  /**
   * `graphDirIsRoot: false` for a graph another process sent (a worker's or gateway's copy of the
   * controller's): its file is only where relative paths resolve, and only the roots count.
   */
  constructor(
    roots: readonly string[],
    readonly graphDirIsRoot = true,
  ) {
    this.roots = Object.freeze([...new Set(roots.map((r) => path.resolve(r)))]);
  }

  /** MODEL_ROOTS' default: the process's working directory (a clone serves its own graphs and models). */
  static defaults(): PathPolicy {
    return new PathPolicy([process.cwd()]);
  }

  /** This policy with more roots (e.g. the GRAPHS_DIR entries a registry loads). */
  including(roots: readonly string[]): PathPolicy {
    return new PathPolicy([...this.roots, ...roots], this.graphDirIsRoot);
  }

  /** This policy for graphs sent by the controller: the graph's own directory is not a root. */
  forSentGraphs(): PathPolicy {
    return new PathPolicy(this.roots, false);
  }

  confine(graphFile: string, requested: string, field: string): ConfinedPath {
    return confinePath(graphFile, requested, this.roots, field, this.graphDirIsRoot);
  }

  /**
   * Checks the custom modules and detector references of a graph's nodes (model files are checked while
   * parsing, by checkModelFile). Nodes at their declared indexes; undefined ones are skipped. Returns the
   * problems, located at the fields, and the nodes with the offending ones removed, so nothing outside the
   * roots is ever opened.
   */
  confineNodes<N extends NodeSpec>(graphFile: string, nodes: readonly (N | undefined)[]): { nodes: (N | undefined)[]; problems: GraphProblem[] } {
    const problems: GraphProblem[] = [];
    const kept = nodes.map((node, index) => {
      if (node === undefined) return undefined;
      let refused = false;
      for (const f of pathFieldsOf(node)) {
        if (f.kind === 'model') continue;
        const confined = this.confine(graphFile, f.value, f.field.join('.'));
        if ('error' in confined) {
          problems.push({ path: ['spec', 'nodes', index, ...f.field], message: confined.error });
          refused = true;
        }
      }
      return refused ? undefined : node;
    });
    return { nodes: kept, problems };
  }
}

/**
 * The real path of `file`: its deepest existing ancestor with symlinks resolved, and the rest as written.
 * realpath(3) in one call (`native`): the JavaScript realpathSync lstat()s every component, which made
 * checking a ten-model graph cost its event loop milliseconds.
 */
function realLocation(file: string): string {
  let existing = file;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync.native(existing), ...rest.reverse());
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return file;
      rest.push(path.basename(existing));
      existing = parent;
    }
  }
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
