import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { metricSample, scrapeMetrics } from './metrics';
import { repoPath } from './repo';

// A large graph to load while something else serves: `models` distinct 4.5 MB models (copies of digits-mlp
// made distinct by a protobuf field onnxruntime ignores, so no session is shared) and a TypeScript custom
// module, which once blocked a worker's event loop for seconds. Used by test/e2e/loading-under-load.test.ts
// and bench/loading.bench.ts.

/** digits-mlp with an unknown ModelProto field (number 1000) of random bytes appended: other content, same model. */
function distinctCopy(to: string): void {
  const tail = randomBytes(16);
  writeFileSync(to, Buffer.concat([readFileSync(repoPath('models', 'digits-mlp', '1', 'model.onnx')), Buffer.from([0xc2, 0x3e, tail.length]), tail]));
}

/**
 * Writes the models (and, unless `withModule` is false, the module) into `dir` and returns the graph document
 * (named `bulky`) that uses them.
 */
export function writeBulkyGraph(dir: string, models: number, withModule = true): string {
  for (let i = 0; i < models; i++) distinctCopy(path.join(dir, `m${i}.onnx`));
  copyFileSync(repoPath('graphs', 'modules', 'confidence.ts'), path.join(dir, 'confidence.ts'));
  const nodes = Array.from({ length: models }, (_, i) =>
    [
      `    - name: m${i}`,
      '      type: model',
      '      inputs: [graph.inputs.pixels]',
      '      tensorMap: {pixels: input}',
      '      resources: {cpu: 100m}',
      `      model: {uri: ${JSON.stringify(path.join(dir, `m${i}.onnx`))}}`,
    ].join('\n'),
  );
  if (withModule) {
    nodes.push(
      [
        '    - name: confidence',
        '      type: transformer',
        `      inputs: [${models > 0 ? 'm0.outputs.probabilities' : 'graph.inputs.pixels'}]`,
        '      resources: {cpu: 100m}',
        '      transformer:',
        `        module: ${JSON.stringify(path.join(dir, 'confidence.ts'))}`,
        '        export: confidence',
        '        outputs:',
        '          - {name: confidence, datatype: FP32, shape: [-1]}',
        '          - {name: uncertain, datatype: BOOL, shape: [-1]}',
      ].join('\n'),
    );
  }
  const outputs = [...Array.from({ length: models }, (_, i) => `{name: label${i}, source: m${i}.outputs.label}`), ...(withModule ? ['confidence.outputs.confidence'] : [])];
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: bulky}
spec:
  inputs: [{name: pixels, datatype: FP32, shape: [-1, 64]}]
  nodes:
${nodes.join('\n')}
  outputs: [${outputs.join(', ')}]
`;
}

const LAG_MAX = 'infergraph_nodejs_eventloop_lag_max_seconds';

/**
 * The longest event-loop stall (ms) a process at `baseUrl` reported since its last scrape (prom-client resets
 * it on every scrape), from its /metrics; NaN when the gauge is missing.
 */
export async function longestStallMs(baseUrl: string): Promise<number> {
  return longestStallMsIn(await scrapeMetrics(baseUrl));
}

/** longestStallMs read from a scrape already made (each scrape resets the gauge: read both figures from one). */
export function longestStallMsIn(text: string): number {
  if (!text.includes(`\n${LAG_MAX}`)) return Number.NaN;
  return Math.round(metricSample(text, LAG_MAX) * 1000 * 10) / 10;
}
