import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatPath, type GraphDiagnostic, type GraphProblem } from './graph.diagnostic';
import {
  NODE_TYPES,
  graphHeaderSchema,
  nodeSchemas,
  type GraphSpec,
  type NodeSpec,
  type NodeType,
} from './graph-spec.schema';
import { validateStructure, type LooseGraph } from './graph-structure.validator';
import { SourceLocator } from './source-locator';
import { analyzeRouting, type RoutingAnalysis } from './routing.analysis';

export interface ParseGraphOptions {
  /** Checks a model node's `model.uri` (e.g. that the file exists); returns a problem or undefined. */
  readonly checkModelUri?: (uri: string) => string | undefined;
}

export interface ParsedGraphSource {
  readonly file: string;
  /** Present only when the file has no problems at all. */
  readonly graph: GraphSpec | undefined;
  /** Node names in an order where every node comes after the nodes it reads from. */
  readonly order: readonly string[];
  readonly diagnostics: readonly GraphDiagnostic[];
  readonly locator: SourceLocator | undefined;
  /** Route guards and shadows; present with `graph`. */
  readonly routing: RoutingAnalysis | undefined;
}

/** Parses and validates a graph document, collecting every problem rather than stopping at the first. */
export function parseGraphSource(text: string, file: string, options: ParseGraphOptions = {}): ParsedGraphSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const diagnostics = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, path: '(yaml)', message: `YAML syntax: ${firstLine(e.message)}` };
    });
    return { file, graph: undefined, order: [], diagnostics, locator: undefined, routing: undefined };
  }
  const locator = new SourceLocator(doc, lines);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const problems: GraphProblem[] = [];
  const keyProblems: GraphProblem[] = [];

  const header = graphHeaderSchema.safeParse(raw, { reportInput: true });
  if (!header.success) collectIssues(header.error, [], problems, keyProblems);

  const rawNodes = arrayAt(raw, ['spec', 'nodes']);
  const nodes: NodeSpec[] = [];
  rawNodes.forEach((rawNode, index) => {
    const path = ['spec', 'nodes', index];
    const type = fieldOf(rawNode, 'type');
    if (type === undefined) {
      problems.push({ path: [...path, 'type'], message: `required; expected one of ${NODE_TYPES.join(', ')}` });
      return;
    }
    if (!(NODE_TYPES as readonly unknown[]).includes(type)) {
      problems.push({
        path: [...path, 'type'],
        message: `unknown node type ${JSON.stringify(type)}; expected one of ${NODE_TYPES.join(', ')}`,
      });
      return;
    }
    const nodeType = type as NodeType;
    const parsed = nodeSchemas[nodeType].safeParse(rawNode, { reportInput: true });
    if (!parsed.success) {
      collectIssues(parsed.error, path, problems, keyProblems);
      return;
    }
    if (parsed.data.type === 'model' && options.checkModelUri) {
      const problem = options.checkModelUri(parsed.data.model.uri);
      if (problem !== undefined) problems.push({ path: [...path, 'model', 'uri'], message: problem });
    }
    nodes.push(parsed.data);
  });

  const structure = validateStructure(looseView(raw));
  problems.push(...structure.problems);

  const complete = header.success && nodes.length === rawNodes.length && problems.length === 0 && keyProblems.length === 0;
  const candidate = complete ? ({ ...header.data, spec: { ...header.data.spec, nodes } } as GraphSpec) : undefined;
  const routing = candidate === undefined ? undefined : analyzeRouting(candidate, structure.order);
  if (routing !== undefined) problems.push(...routing.problems);

  const diagnostics = [
    ...keyProblems.map((p) => locateProblem(file, locator, p, true)),
    ...problems.map((p) => locateProblem(file, locator, p, false)),
  ].sort((a, b) => a.line - b.line || a.column - b.column);

  const graph = diagnostics.length === 0 ? candidate : undefined;
  return { file, graph, order: structure.order, diagnostics, locator, routing: graph === undefined ? undefined : routing };
}

export function locateProblem(
  file: string,
  locator: SourceLocator,
  problem: GraphProblem,
  atKey = false,
): GraphDiagnostic {
  const pos = atKey ? locator.locateKey(problem.path) : locator.locate(problem.path);
  return { file, line: pos.line, column: pos.column, path: formatPath(problem.path), message: problem.message };
}

function collectIssues(
  error: z.ZodError,
  prefix: readonly (string | number)[],
  problems: GraphProblem[],
  keyProblems: GraphProblem[],
): void {
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
    // spec.nodes is validated node by node above, with messages that name the node type.
    if (path[0] === 'spec' && path[1] === 'nodes' && prefix.length === 0 && path.length > 2) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) keyProblems.push({ path: [...path, key], message: `unknown field "${key}"` });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      problems.push({ path, message: `required field is missing (${issue.expected} expected)` });
    } else {
      problems.push({ path, message: issue.message });
    }
  }
}

function looseView(raw: unknown): LooseGraph {
  return {
    inputs: arrayAt(raw, ['spec', 'inputs']).map((i) => stringOf(fieldOf(i, 'name'))),
    nodes: arrayAt(raw, ['spec', 'nodes']).map((n, i) => ({
      name: stringOf(fieldOf(n, 'name')),
      type: stringOf(fieldOf(n, 'type')),
      inputs: Array.isArray(fieldOf(n, 'inputs')) ? (fieldOf(n, 'inputs') as unknown[]).map(stringOf) : [],
      tensorMapKeys: objectKeys(fieldOf(n, 'tensorMap')),
      routeTargets: fieldOf(n, 'type') === 'router' ? routeTargetsOf(fieldOf(n, 'router'), i) : [],
    })),
    outputs: arrayAt(raw, ['spec', 'outputs']).map((o) => {
      if (typeof o === 'string') return { name: undefined, sources: [o], listed: false };
      const source = fieldOf(o, 'source');
      return Array.isArray(source)
        ? { name: stringOf(fieldOf(o, 'name')), sources: source.map(stringOf), listed: true }
        : { name: stringOf(fieldOf(o, 'name')), sources: [stringOf(source)], listed: false };
    }),
  };
}

function routeTargetsOf(router: unknown, index: number): { node: string | undefined; path: (string | number)[] }[] {
  const out: { node: string | undefined; path: (string | number)[] }[] = [];
  for (const group of ['routes', 'shadow'] as const) {
    arrayAt(router, [group]).forEach((route, r) => {
      const to = fieldOf(route, 'to');
      if (!Array.isArray(to)) return;
      to.forEach((node, t) => out.push({ node: stringOf(node), path: ['spec', 'nodes', index, 'router', group, r, 'to', t] }));
    });
  }
  return out;
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

function arrayAt(value: unknown, path: readonly string[]): unknown[] {
  let cur = value;
  for (const key of path) cur = fieldOf(cur, key);
  return Array.isArray(cur) ? cur : [];
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function objectKeys(value: unknown): string[] {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
