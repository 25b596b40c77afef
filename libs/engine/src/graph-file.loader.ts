import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TensorSpec } from '@infergraph/protocol';
import { GraphExecutor, InProcessTransport, compileGraphPlan, type NodeRuntime } from '@infergraph/executor';
import { ModelNode, PassThroughNode, typeModelNode, type ModelLoader, type ModelSession } from '@infergraph/nodes';
import {
  GraphValidationError,
  locateProblem,
  parseGraphSource,
  typeGraph,
  type GraphProblem,
  type GraphSpec,
  type NodeSpec,
} from '@infergraph/spec';
import { checkModelFile, resolveModelPath } from './model-file.resolver';

export interface LoadedModel {
  readonly node: string;
  readonly path: string;
  readonly sha256: string;
  readonly provider: string;
}

/** A graph that passed every check and can serve requests. */
export interface LoadedGraph {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly executor: GraphExecutor;
  readonly models: readonly LoadedModel[];
}

/**
 * Reads, validates and prepares one graph file. Every problem found is reported together in a
 * GraphValidationError: schema and reference problems first; model problems (missing file, sha256
 * mismatch, unloadable model) and tensor typing once the models are open.
 */
export async function loadGraphFile(file: string, loader: ModelLoader): Promise<LoadedGraph> {
  const text = await readFile(file, 'utf8');
  return loadGraphSource(text, file, loader);
}

export async function loadGraphSource(text: string, file: string, loader: ModelLoader): Promise<LoadedGraph> {
  const parsed = parseGraphSource(text, file, { checkModelUri: (uri) => checkModelFile(file, uri) });
  if (parsed.graph === undefined || parsed.locator === undefined) {
    throw new GraphValidationError(file, parsed.diagnostics);
  }
  const graph = parsed.graph;
  const locator = parsed.locator;
  const fail = (problems: readonly GraphProblem[]): never => {
    throw new GraphValidationError(
      file,
      problems.map((p) => locateProblem(file, locator, p)).sort((a, b) => a.line - b.line || a.column - b.column),
    );
  };

  const problems: GraphProblem[] = [];
  const sessions = new Map<string, ModelSession>();
  const models: LoadedModel[] = [];
  await Promise.all(
    graph.spec.nodes.map(async (node, index) => {
      if (node.type !== 'model') return;
      const modelPath = resolveModelPath(file, node.model.uri) as string;
      const bytes = await readFile(modelPath);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (node.model.sha256 !== undefined && node.model.sha256 !== sha256) {
        problems.push({
          path: ['spec', 'nodes', index, 'model', 'sha256'],
          message: `sha256 mismatch for ${modelPath}: the graph pins ${node.model.sha256}, the file is ${sha256}`,
        });
        return;
      }
      try {
        const session = await loader.load(sha256, bytes, { intraOpThreads: node.model.intraOpThreads });
        sessions.set(node.name, session);
        models.push({ node: node.name, path: modelPath, sha256, provider: session.provider });
      } catch (err) {
        problems.push({
          path: ['spec', 'nodes', index, 'model', 'uri'],
          message: `cannot load model ${modelPath}: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    }),
  );

  const indexOf = new Map(graph.spec.nodes.map((n, i) => [n.name, i]));
  const types = typeGraph(graph, parsed.order, (node: NodeSpec, incoming: readonly TensorSpec[]) => {
    if (node.type === 'model') {
      const session = sessions.get(node.name);
      return session === undefined ? { outputs: undefined, problems: [] } : typeModelNode(indexOf.get(node.name) ?? 0, session, incoming);
    }
    return { outputs: incoming, problems: [] };
  });
  problems.push(...types.problems);
  if (problems.length > 0) fail(problems);

  const runtimes = new Map<string, NodeRuntime>();
  for (const node of graph.spec.nodes) {
    if (node.type === 'model') {
      runtimes.set(node.name, new ModelNode(node.name, sessions.get(node.name) as ModelSession, { allowNonFinite: node.model.allowNonFinite }));
    } else {
      runtimes.set(node.name, new PassThroughNode());
    }
  }
  const plan = compileGraphPlan(graph, parsed.order, types.outputs);
  models.sort((a, b) => a.node.localeCompare(b.node));
  return { file, spec: graph, executor: new GraphExecutor(plan, new InProcessTransport(runtimes)), models };
}
