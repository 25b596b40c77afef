import { parseGraphSource } from './graph-spec.parser';

/**
 * A graph of every common shape (block and flow collections, a router with shadows, models, transformer
 * steps, a combiner), parsed only to run the parser's code: a graph document arriving later (an admin POST, a
 * catalogue, an assignment) is then parsed by compiled code rather than the interpreter.
 */
const SAMPLE = `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata:
  name: parser-warmup
  labels: {purpose: warmup}
spec:
  version: "1"
  inputs:
    - {name: features, datatype: FP32, shape: [-1, 4]}
  nodes:
    - name: scale
      type: transformer
      inputs: [graph.inputs.features]
      resources: {cpu: 100m}
      transformer:
        steps:
          - op: standardize
            tensor: features
            mean: [5.8, 3.0, 3.7, 1.1]
            std: [0.8, 0.4, 1.7, 0.7]
    - name: split
      type: router
      inputs: [scale]
      router:
        strategy: sticky
        sticky: {header: x-user-id}
        routes:
          - {name: a, weight: 90, to: [a]}
          - {name: b, weight: 10, to: [b]}
        shadow:
          - {name: c, percent: 100, to: [c]}
${['a', 'b', 'c']
  .map(
    (m) => `    - name: ${m}
      type: model
      inputs: [split]
      tensorMap: {features: input}
      resources: {cpu: 100m, memory: 64Mi}
      model: {uri: models/${m}/1/model.onnx, sha256: ${'ab'.repeat(32)}}`,
  )
  .join('\n')}
    - name: vote
      type: combiner
      inputs: [a, b]
      combiner: {strategy: soft-vote, tensor: probabilities, join: inner}
    - name: names
      type: transformer
      inputs: [vote.outputs.label]
      transformer:
        steps:
          - {op: labelMap, tensor: label, labels: [setosa, versicolor, virginica], output: species}
  outputs:
    - names.outputs.species
    - {name: probabilities, source: vote.outputs.probabilities}
`;

/** Parses of the sample: enough for V8 to compile the lexer, parser, composer and schemas (about 100 ms of CPU). */
export const GRAPH_PARSER_WARMUP_ROUNDS = 30;

/**
 * Runs the graph parser over a sample document `rounds` times, one parse per turn of the event loop (a few
 * milliseconds each), so it never holds up serving. Cold, a ten-node graph takes the parser 20–100 ms of one
 * turn on a busy machine; compiled, about 2 ms. Processes that parse graphs while they serve (controller,
 * gateway, worker) start this once they are up.
 */
export async function warmUpGraphParser(rounds: number = GRAPH_PARSER_WARMUP_ROUNDS): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    const parsed = parseGraphSource(SAMPLE, 'parser-warmup.yaml');
    if (parsed.graph === undefined) {
      throw new Error(`the parser's warm-up sample has problems: ${parsed.diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
    }
  }
}
