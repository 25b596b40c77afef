import path from 'node:path';
import { createRequestContext, type GraphExecutor } from '@infergraph/executor';
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
 * on a chain of 1 and of `nodes` clip transformers; rounds alternate between the two, best round counts.
 */
export async function measureNodeOverhead(nodes = 9, rounds = 7, iterations = 3000): Promise<NodeOverhead> {
  const loader = new OnnxModelLoader();
  const file = path.join(__dirname, 'chain.yaml');
  const [one, chain] = await Promise.all([loadGraphSource(chainSource(1), file, loader), loadGraphSource(chainSource(nodes), file, loader)]);
  const inputs: Tensor[] = [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }];
  try {
    await meanUs(one.executor, 'chain-1', inputs, iterations);
    await meanUs(chain.executor, `chain-${nodes}`, inputs, iterations);
    let oneNodeUs = Infinity;
    let chainUs = Infinity;
    for (let r = 0; r < rounds; r++) {
      oneNodeUs = Math.min(oneNodeUs, await meanUs(one.executor, 'chain-1', inputs, iterations));
      chainUs = Math.min(chainUs, await meanUs(chain.executor, `chain-${nodes}`, inputs, iterations));
    }
    return { oneNodeUs, chainUs, nodes, perNodeUs: (chainUs - oneNodeUs) / (nodes - 1) };
  } finally {
    await Promise.all([one.close(), chain.close(), loader.close()]);
  }
}
