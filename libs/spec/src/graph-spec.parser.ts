import { Composer, YAMLParseError, type CST, type Document } from 'yaml';
import type { z } from 'zod';
import { formatPath, type GraphDiagnostic, type GraphProblem } from './graph.diagnostic';
import type { TensorSpec } from '@infergraph/protocol';
import {
  NODE_TYPES,
  graphHeaderSchema,
  graphOutputSchema,
  nodeSchemas,
  type GraphSpec,
  type NodeSpec,
  type NodeType,
} from './graph-spec.schema';
import { validateStructure, type LooseGraph, type StructureResult } from './graph-structure.validator';
import type { BrokenPart, PartialGraph } from './graph-typing';
import { screenForParsing } from './graph-source.guard';
import { SourceLocator } from './source-locator';
import { analyzeRouting, type RoutingAnalysis } from './routing.analysis';
import { tensorSpecSchema } from './tensor-spec.schema';

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
  readonly locator: GraphLocator | undefined;
  /** Route guards and shadows; present with `graph`. */
  readonly routing: RoutingAnalysis | undefined;
  /**
   * The graph as far as it checked out, present with problems too: what `typeGraph` can still type,
   * so that one broken node hides no problem elsewhere.
   */
  readonly partial: PartialGraph;
}

/** Finds where a YAML path of the document is, for diagnostics (SourceLocator, or one that composes the document when first asked). */
export interface GraphLocator {
  locate(path: readonly (string | number)[]): { line: number; column: number };
  locateKey(path: readonly (string | number)[]): { line: number; column: number };
}

/**
 * A document that parsed without a single problem, in a form that crosses threads (structured clone): its
 * YAML as plain data, the checked graph, and its node order. `parsedFromClean` turns it back into the
 * ParsedGraphSource `parseGraphSource` gives, so the YAML work (most of a parse) can run on another thread.
 */
export interface CleanGraphParse {
  readonly raw: unknown;
  readonly graph: GraphSpec;
  readonly order: readonly string[];
}

/** Parses and validates a graph document, collecting every problem rather than stopping at the first. */
export function parseGraphSource(text: string, file: string, options: ParseGraphOptions = {}): ParsedGraphSource {
  return parseWithRaw(text, file, options).parsed;
}

/** The document parsed, when it has no problem at all (without model checks); undefined otherwise. */
export function cleanGraphParseOf(text: string, file: string): CleanGraphParse | undefined {
  const { parsed, raw } = parseWithRaw(text, file, {});
  return parsed.graph === undefined ? undefined : { raw, graph: parsed.graph, order: parsed.order };
}

/**
 * The ParsedGraphSource of a clean parse made elsewhere: what parseGraphSource returns for the same text
 * (no diagnostics, the same graph, partial graph and routing). Positions are found only if asked for, by
 * composing the text then.
 */
export function parsedFromClean(text: string, file: string, clean: CleanGraphParse): ParsedGraphSource {
  const structure = validateStructure(looseView(clean.raw));
  const partial = partialGraph(clean.raw, clean.graph.spec.nodes, structure, []);
  return { file, graph: clean.graph, order: structure.order, diagnostics: [], locator: new ComposingLocator(text), routing: partial.routing, partial };
}

/** Locates paths of a document composed on first use (only diagnostics need it, and a clean parse has none). */
class ComposingLocator implements GraphLocator {
  private located: GraphLocator | undefined;

  constructor(private readonly text: string) {}

  locate(path: readonly (string | number)[]): { line: number; column: number } {
    return this.locator().locate(path);
  }

  locateKey(path: readonly (string | number)[]): { line: number; column: number } {
    return this.locator().locateKey(path);
  }

  private locator(): GraphLocator {
    this.located ??= parseGraphSource(this.text, '').locator ?? { locate: () => ({ line: 1, column: 1 }), locateKey: () => ({ line: 1, column: 1 }) };
    return this.located;
  }
}

function parseWithRaw(text: string, file: string, options: ParseGraphOptions): { parsed: ParsedGraphSource; raw: unknown } {
  // A hostile document (an alias bomb, a million nested brackets, huge mappings) is refused before the YAML
  // parser spends seconds on it or throws: every process that reads graphs goes through here.
  const screened = screenForParsing(text);
  if ('problem' in screened) {
    const diagnostics = [{ file, line: 1, column: 1, path: '(yaml)', message: `the document ${screened.problem}` }];
    return { parsed: { file, graph: undefined, order: [], diagnostics, locator: undefined, routing: undefined, partial: EMPTY_PARTIAL }, raw: undefined };
  }
  const lines = screened.lines;
  const doc = composeDocument(screened.tokens, text.length);
  if (doc.errors.length > 0) {
    const diagnostics = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, path: '(yaml)', message: `YAML syntax: ${firstLine(e.message)}` };
    });
    return { parsed: { file, graph: undefined, order: [], diagnostics, locator: undefined, routing: undefined, partial: EMPTY_PARTIAL }, raw: undefined };
  }
  const locator = new SourceLocator(doc, lines);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const problems: GraphProblem[] = [];
  const keyProblems: GraphProblem[] = [];

  const header = graphHeaderSchema.safeParse(raw, { reportInput: true });
  if (!header.success) collectIssues(header.error, [], problems, keyProblems);

  const rawNodes = arrayAt(raw, ['spec', 'nodes']);
  const nodes = rawNodes.map((rawNode, index): NodeSpec | undefined => {
    const path = ['spec', 'nodes', index];
    const type = fieldOf(rawNode, 'type');
    if (type === undefined) {
      problems.push({ path: [...path, 'type'], message: `required; expected one of ${NODE_TYPES.join(', ')}` });
      return undefined;
    }
    if (!(NODE_TYPES as readonly unknown[]).includes(type)) {
      problems.push({
        path: [...path, 'type'],
        message: `unknown node type ${JSON.stringify(type)}; expected one of ${NODE_TYPES.join(', ')}`,
      });
      return undefined;
    }
    const nodeType = type as NodeType;
    const parsed = nodeSchemas[nodeType].safeParse(rawNode, { reportInput: true });
    if (!parsed.success) {
      collectIssues(parsed.error, path, problems, keyProblems);
      return undefined;
    }
    if (parsed.data.type === 'model' && options.checkModelUri) {
      const problem = options.checkModelUri(parsed.data.model.uri);
      if (problem !== undefined) problems.push({ path: [...path, 'model', 'uri'], message: problem });
    }
    return parsed.data;
  });

  const structure = validateStructure(looseView(raw));
  problems.push(...structure.problems);
  const partial = partialGraph(raw, nodes, structure, [...problems, ...keyProblems]);
  problems.push(...partial.routing.problems);

  const diagnostics = [
    ...keyProblems.map((p) => locateProblem(file, locator, p, true)),
    ...problems.map((p) => locateProblem(file, locator, p, false)),
  ].sort(bySource);

  const complete = header.success && diagnostics.length === 0 && nodes.every((n) => n !== undefined);
  const graph = complete ? ({ ...header.data, spec: { ...header.data.spec, nodes } } as GraphSpec) : undefined;
  return { parsed: { file, graph, order: structure.order, diagnostics, locator, routing: graph === undefined ? undefined : partial.routing, partial }, raw };
}

/**
 * The document of the tokens screening parsed (the text is lexed once), as `parseDocument` composes it:
 * one document, a second one is an error. logLevel 'error': the yaml package would print its warnings (a
 * collection as a mapping key...) on the process's stderr, once per key of any document anyone posts;
 * problems are reported as diagnostics.
 */
function composeDocument(tokens: readonly CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (doc === undefined) {
      doc = next;
      continue;
    }
    doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
    break;
  }
  // compose(…, forceDoc) always yields a document, an empty one for an empty text.
  return doc as Document.Parsed;
}

export function locateProblem(
  file: string,
  locator: GraphLocator,
  problem: GraphProblem,
  atKey = false,
): GraphDiagnostic {
  const pos = atKey ? locator.locateKey(problem.path) : locator.locate(problem.path);
  const located = { file, line: pos.line, column: pos.column, path: formatPath(problem.path), message: problem.message };
  return problem.severity === undefined ? located : { ...located, severity: problem.severity };
}

/** The parse diagnostics together with problems found later (models, typing), located and in source order. */
export function diagnosticsWith(parsed: ParsedGraphSource, later: readonly GraphProblem[]): GraphDiagnostic[] {
  const locator = parsed.locator;
  if (locator === undefined) return [...parsed.diagnostics];
  return [...parsed.diagnostics, ...later.map((p) => locateProblem(parsed.file, locator, p))].sort(bySource);
}

function bySource(a: GraphDiagnostic, b: GraphDiagnostic): number {
  return a.line - b.line || a.column - b.column;
}

const EMPTY_PARTIAL: PartialGraph = {
  name: undefined,
  inputs: [],
  brokenInputs: [],
  nodes: [],
  brokenNodes: new Map(),
  outputs: [],
  order: [],
  dependencies: new Map(),
  routing: analyzeRouting({ nodes: [], outputs: [] }, []),
};

/**
 * Keeps every part that checked out. A part with a problem at its path is broken, and so is a node
 * whose name is declared twice or lies on a cycle, and a graph input whose name is declared twice.
 */
function partialGraph(raw: unknown, specs: readonly (NodeSpec | undefined)[], structure: StructureResult, problems: readonly GraphProblem[]): PartialGraph {
  const hasProblem = (list: string, index?: number): boolean =>
    problems.some((p) => p.path[0] === 'spec' && p.path[1] === list && (index === undefined ? p.path.length === 2 : p.path[2] === index));

  const rawInputs = arrayAt(raw, ['spec', 'inputs']);
  const inputNames = rawInputs.map((i) => stringOf(fieldOf(i, 'name')));
  const inputs: TensorSpec[] = [];
  const brokenInputs: BrokenPart[] = hasProblem('inputs') ? [{ label: 'spec.inputs', path: ['spec', 'inputs'] }] : [];
  rawInputs.forEach((rawInput, i) => {
    const parsed = tensorSpecSchema.safeParse(rawInput);
    const name = inputNames[i];
    const declaredTwice = name !== undefined && inputNames.indexOf(name) !== inputNames.lastIndexOf(name);
    if (parsed.success && !declaredTwice && !hasProblem('inputs', i)) inputs.push(parsed.data);
    else brokenInputs.push(name === undefined ? { label: `spec.inputs[${i}]`, path: ['spec', 'inputs', i] } : { label: `graph input "${name}"`, path: ['spec', 'inputs', i], tensor: name });
  });

  const brokenNodes = new Map<string, BrokenPart>();
  const nodes = specs.map((spec, i) => {
    const name = stringOf(fieldOf(arrayAt(raw, ['spec', 'nodes'])[i], 'name'));
    if (spec !== undefined && !hasProblem('nodes', i) && !structure.brokenNames.has(spec.name)) return spec;
    if (name !== undefined && !brokenNodes.has(name)) brokenNodes.set(name, { label: `node "${name}"`, path: ['spec', 'nodes', i] });
    return undefined;
  });

  const outputs = arrayAt(raw, ['spec', 'outputs']).map((rawOutput, k) => {
    const parsed = graphOutputSchema.safeParse(rawOutput);
    return parsed.success && !hasProblem('outputs', k) ? parsed.data : undefined;
  });

  return {
    name: stringOf(fieldOf(fieldOf(raw, 'metadata'), 'name')),
    inputs,
    brokenInputs,
    nodes,
    brokenNodes,
    outputs,
    order: structure.order,
    dependencies: structure.dependencies,
    routing: analyzeRouting({ nodes, outputs }, structure.order),
  };
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
