import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TensorSpec } from '@infergraph/protocol';
import type { CombinerRuntime, ControlRuntimes, NodeRuntime, RouterRuntime } from '@infergraph/executor';
import {
  CombinerNodeRuntime,
  ModelNode,
  ModuleTransformerNode,
  PassThroughNode,
  RouterNodeRuntime,
  StepsTransformerNode,
  conditionTensorNames,
  parseCondition,
  typeCombiner,
  typeModelNode,
  typeTransformSteps,
  validateRouterConfig,
  type CustomCombine,
  type CustomTransform,
  type ModelLoader,
  type ModelSession,
} from '@infergraph/nodes';
import type { GraphProblem, GraphSpec, NodeSpec, NodeTyper } from '@infergraph/spec';
import { resolveModelPath } from './model-file.resolver';
import { loadUserFunction } from './user-module.loader';

export interface LoadedModel {
  readonly node: string;
  readonly path: string;
  readonly sha256: string;
  readonly provider: string;
}

/** What loading a graph's nodes needed from outside: model sessions and user functions. */
export interface PreparedNodes {
  readonly sessions: ReadonlyMap<string, ModelSession>;
  readonly transforms: ReadonlyMap<string, CustomTransform>;
  readonly combines: ReadonlyMap<string, CustomCombine>;
  readonly models: readonly LoadedModel[];
}

/** Opens every model (checking sha256) and loads every user module; problems are collected. */
export async function prepareNodes(graph: GraphSpec, file: string, loader: ModelLoader, problems: GraphProblem[]): Promise<PreparedNodes> {
  const sessions = new Map<string, ModelSession>();
  const transforms = new Map<string, CustomTransform>();
  const combines = new Map<string, CustomCombine>();
  const models: LoadedModel[] = [];
  await Promise.all(
    graph.spec.nodes.map(async (node, index) => {
      const base = ['spec', 'nodes', index];
      if (node.type === 'model') {
        const modelPath = resolveModelPath(file, node.model.uri) as string;
        const bytes = await readFile(modelPath);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (node.model.sha256 !== undefined && node.model.sha256 !== sha256) {
          problems.push({
            path: [...base, 'model', 'sha256'],
            message: `sha256 mismatch for ${modelPath}: the graph pins ${node.model.sha256}, the file is ${sha256}`,
          });
          return;
        }
        try {
          const session = await loader.load(sha256, bytes, { intraOpThreads: node.model.intraOpThreads });
          sessions.set(node.name, session);
          models.push({ node: node.name, path: modelPath, sha256, provider: session.provider });
        } catch (err) {
          problems.push({ path: [...base, 'model', 'uri'], message: `cannot load model ${modelPath}: ${messageOf(err)}` });
        }
        return;
      }
      const custom =
        node.type === 'transformer' && node.transformer.module !== undefined
          ? { module: node.transformer.module, name: node.transformer.export, field: 'transformer', into: transforms as Map<string, unknown> }
          : node.type === 'combiner' && node.combiner.strategy === 'custom' && node.combiner.module !== undefined
            ? { module: node.combiner.module, name: node.combiner.export, field: 'combiner', into: combines as Map<string, unknown> }
            : undefined;
      if (custom === undefined) return;
      try {
        custom.into.set(node.name, await loadUserFunction(file, custom.module, custom.name));
      } catch (err) {
        problems.push({
          path: [...base, custom.field, 'module'],
          message: `graph "${graph.metadata.name}" node "${node.name}": cannot load custom ${custom.field} module: ${messageOf(err)}`,
        });
      }
    }),
  );
  models.sort((a, b) => a.node.localeCompare(b.node));
  return { sessions, transforms, combines, models };
}

/** Static typing of each node type, with problems located in the node's YAML. */
export function nodeTyper(graph: GraphSpec, prepared: PreparedNodes): NodeTyper {
  const indexOf = new Map(graph.spec.nodes.map((n, i) => [n.name, i]));
  return (node: NodeSpec, incoming, branches) => {
    const index = indexOf.get(node.name) ?? 0;
    const base = ['spec', 'nodes', index];
    switch (node.type) {
      case 'model': {
        const session = prepared.sessions.get(node.name);
        return session === undefined ? { outputs: undefined, problems: [] } : typeModelNode(index, session, incoming);
      }
      case 'transformer': {
        const t = node.transformer;
        if (t.module !== undefined) return { outputs: t.outputs, problems: [] };
        if (t.steps.length === 0) return { outputs: incoming, problems: [] };
        const typed = typeTransformSteps(t.steps, incoming);
        return {
          outputs: typed.outputs,
          problems: typed.problems.map((p) => ({
            path: [...base, 'transformer', 'steps', p.step, ...(p.field === undefined ? [] : [p.field])],
            message: p.message,
          })),
        };
      }
      case 'router': {
        const problems: GraphProblem[] = validateRouterConfig(node.router).map((p) => ({ path: [...base, 'router', ...p.path], message: p.message }));
        (node.router.rules ?? []).forEach((rule, k) => {
          const parsed = parseCondition(rule.when);
          if (!parsed.ok) return;
          for (const name of conditionTensorNames(parsed.condition)) {
            if (!incoming.some((t) => t.name === name)) {
              problems.push({
                path: [...base, 'router', 'rules', k, 'when'],
                message: `condition reads tensors.${name}, which router "${node.name}" does not receive (receives: ${incoming.map((t) => t.name).join(', ')})`,
              });
            }
          }
        });
        return { outputs: incoming, problems };
      }
      case 'combiner': {
        const typed = typeCombiner(
          node.combiner,
          branches.map((b) => ({ source: b.source ?? 'graph.inputs', tensors: b.tensors })),
        );
        return { outputs: typed.outputs, problems: typed.problems.map((message) => ({ path: [...base, 'combiner'], message })) };
      }
      case 'outlier':
      case 'drift':
        return { outputs: undefined, problems: [{ path: [...base, 'type'], message: `node type "${node.type}" cannot run in this release` }] };
    }
  };
}

/** Runtimes for every node: computations behind the transport, routers and combiners in the executor. */
export function buildRuntimes(
  graph: GraphSpec,
  prepared: PreparedNodes,
): { runtimes: Map<string, NodeRuntime>; controls: ControlRuntimes } {
  const runtimes = new Map<string, NodeRuntime>();
  const routers = new Map<string, RouterRuntime>();
  const combiners = new Map<string, CombinerRuntime>();
  const graphName = graph.metadata.name;
  for (const node of graph.spec.nodes) {
    switch (node.type) {
      case 'model':
        runtimes.set(node.name, new ModelNode(node.name, prepared.sessions.get(node.name) as ModelSession, { allowNonFinite: node.model.allowNonFinite }));
        break;
      case 'transformer': {
        const fn = prepared.transforms.get(node.name);
        const t = node.transformer;
        runtimes.set(
          node.name,
          fn !== undefined
            ? new ModuleTransformerNode(graphName, node.name, fn, t.outputs as readonly TensorSpec[])
            : t.steps.length > 0
              ? new StepsTransformerNode(node.name, t.steps)
              : new PassThroughNode(),
        );
        break;
      }
      case 'router':
        routers.set(node.name, new RouterNodeRuntime(node.router));
        break;
      case 'combiner': {
        const fn = prepared.combines.get(node.name);
        const custom = fn === undefined ? undefined : { fn, outputs: node.combiner.outputs ?? [] };
        combiners.set(node.name, new CombinerNodeRuntime(graphName, node.name, node.combiner, custom));
        break;
      }
      case 'outlier':
      case 'drift':
        throw new Error(`node type "${node.type}" cannot run in this release`);
    }
  }
  return { runtimes, controls: { routers, combiners } };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
