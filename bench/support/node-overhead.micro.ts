import path from 'node:path';
import { GraphExecutor, InProcessTransport, createRequestContext } from '@infergraph/executor';
import { loadGraphSource } from '@infergraph/engine';
import type { Tensor } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';

export interface NodeOverhead {
  /** Mean µs per request of the one-node and the `nodes`-node chain, best round of each. */
  readonly oneNodeUs: number;
  readonly chainUs: number;
  readonly nodes: number;
  /** (chain − one node) / (nodes − 1). */
  readonly perNodeUs: number;
  /** The same through the general scheduler (what graphs with routers, combiners or detectors use). */
  readonly schedulerOneNodeUs: number;
  readonly schedulerChainUs: number;
  readonly schedulerPerNodeUs: number;
}

/** A graph of `n` cheap transformers in a line (each clips a 1×4 tensor), as YAML. */
function chainSource(n: number): string {
  const nodes = Array.from({ length: n }, (_, i) => {
    const from = i === 0 ? 'graph.inputs' : `t${i}`;
    return `    - {name: t${i + 1}, type: transformer, inputs: [${from}], transformer: {steps: [{op: clip, tensor: input, min: -100, max: 100}]}}`;
  });
  return [
    'apiVersion: infergraph.dev/v1alpha1',
    'kind: InferenceGraph',
    `metadata: {name: chain-${n}}`,
    'spec:',
    '  inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]',
    '  nodes:',
    ...nodes,
    `  outputs: [t${n}]`,
    '',
  ].join('\n');
}

/** Mean µs per sequential request through `executor` over `iterations` requests. */
async function meanUs(executor: GraphExecutor, graph: string, inputs: readonly Tensor[], iterations: number): Promise<number> {
  const signal = new AbortController().signal;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    await executor.execute(inputs, createRequestContext({ graph, timeoutMs: 10_000, signal }));
  }
  return ((performance.now() - started) * 1000) / iterations;
}

/**
 * In-process cost of one more graph node: the executor alone (no HTTP, no JSON), one request at a time,
 * on a chain of 1 and of `nodes` clip transformers; rounds alternate, best round counts. Measured as chains
 * run (node after node) and again forced through the general scheduler.
 */
export async function measureNodeOverhead(nodes = 9, rounds = 7, iterations = 3000): Promise<NodeOverhead> {
  const loader = new OnnxModelLoader();
  const file = path.join(__dirname, 'chain.yaml');
  const [one, chain] = await Promise.all([loadGraphSource(chainSource(1), file, loader), loadGraphSource(chainSource(nodes), file, loader)]);
  const inputs: Tensor[] = [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }];
  const scheduled = (g: typeof one): GraphExecutor => new GraphExecutor(g.executor.plan, new InProcessTransport(g.runtimes), undefined, {}, { schedule: 'scheduler' });
  const variants = [
    { name: 'chain-1', executor: one.executor, best: Infinity },
    { name: `chain-${nodes}`, executor: chain.executor, best: Infinity },
    { name: 'chain-1', executor: scheduled(one), best: Infinity },
    { name: `chain-${nodes}`, executor: scheduled(chain), best: Infinity },
  ];
  try {
    for (const v of variants) await meanUs(v.executor, v.name, inputs, iterations);
    for (let r = 0; r < rounds; r++) for (const v of variants) v.best = Math.min(v.best, await meanUs(v.executor, v.name, inputs, iterations));
    const [oneNodeUs, chainUs, schedulerOneNodeUs, schedulerChainUs] = variants.map((v) => v.best) as [number, number, number, number];
    return {
      oneNodeUs,
      chainUs,
      nodes,
      perNodeUs: (chainUs - oneNodeUs) / (nodes - 1),
      schedulerOneNodeUs,
      schedulerChainUs,
      schedulerPerNodeUs: (schedulerChainUs - schedulerOneNodeUs) / (nodes - 1),
    };
  } finally {
    await Promise.all([one.close(), chain.close(), loader.close()]);
  }
}
