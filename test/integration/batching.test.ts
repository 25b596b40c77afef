import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import { loadGraphFile, type BatchResult } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GraphValidationError } from '@infergraph/spec';
import type { Datatype, Tensor } from '@infergraph/protocol';
import { repoPath } from '../support/repo';
import { tempDir } from '../support/temp-dir';

// Integration: real graph files on disk, the real graph executor and onnxruntime-node sessions on the
// committed fixture models (test/fixtures/models), no server.

const dir = tempDir('infergraph-batching-');
const loader = new OnnxModelLoader();

const DTYPES: [suffix: string, datatype: Datatype][] = [
  ['bool', 'BOOL'],
  ['int8', 'INT8'],
  ['int16', 'INT16'],
  ['int32', 'INT32'],
  ['int64', 'INT64'],
  ['uint8', 'UINT8'],
  ['uint16', 'UINT16'],
  ['uint32', 'UINT32'],
  ['uint64', 'UINT64'],
  ['float16', 'FP16'],
  ['float32', 'FP32'],
  ['float64', 'FP64'],
  ['string', 'BYTES'],
];

function graphFile(name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, ['apiVersion: infergraph.dev/v1alpha1', 'kind: InferenceGraph', `metadata: {name: ${name}}`, 'spec:', ...body.split('\n').map((l) => `  ${l}`)].join('\n') + '\n');
  return file;
}

/** Every identity-model input for `rows` rows, values derived from `seed`. */
function inputsOf(rows: number, seed: number): Tensor[] {
  return DTYPES.map(([suffix, datatype]) => {
    const n = rows * 2;
    const ints = Array.from({ length: n }, (_, i) => (seed * 7 + i) % 100);
    const data: Tensor['data'] =
      datatype === 'BYTES'
        ? ints.map((v) => `s${seed}-${v}`)
        : datatype === 'INT64'
          ? BigInt64Array.from(ints.map(BigInt))
          : datatype === 'UINT64'
            ? BigUint64Array.from(ints.map(BigInt))
            : datatype === 'BOOL'
              ? Uint8Array.from(ints.map((v) => v % 2))
              : datatype === 'FP16'
                ? Uint16Array.from(ints.map((v) => 0x3c00 + v))
                : datatype === 'FP32'
                  ? Float32Array.from(ints.map((v) => v / 8))
                  : datatype === 'FP64'
                    ? Float64Array.from(ints.map((v) => v / 3))
                    : datatype === 'INT8'
                      ? Int8Array.from(ints.map((v) => -v))
                      : datatype === 'INT16'
                        ? Int16Array.from(ints)
                        : datatype === 'INT32'
                          ? Int32Array.from(ints)
                          : datatype === 'UINT8'
                            ? Uint8Array.from(ints)
                            : datatype === 'UINT16'
                              ? Uint16Array.from(ints)
                              : Uint32Array.from(ints);
    return { name: `in_${suffix}`, datatype, shape: [rows, 2], data };
  });
}

describe('dynamic batching with onnxruntime', () => {
  after(() => loader.close());

  it('stacks concurrent requests of every datatype into one onnxruntime run and splits each answer back', async () => {
    const file = graphFile(
      'dtypes-batched',
      `inputs:
${DTYPES.map(([s, d]) => `  - {name: in_${s}, datatype: ${d}, shape: [-1, 2]}`).join('\n')}
nodes:
  - name: identity
    type: model
    inputs: [graph.inputs]
    model: {uri: ${repoPath('test', 'fixtures', 'models', 'identity-all-dtypes.onnx')}, allowNonFinite: true, batching: {maxBatchSize: 16, maxQueueDelayMicros: 50000}}
outputs: [identity]`,
    );
    const batches: BatchResult[] = [];
    const graph = await loadGraphFile(file, loader, { onBatch: (b) => batches.push(b) });
    const rowCounts = [1, 3, 2, 1];
    const requests = rowCounts.map((rows, seed) => inputsOf(rows, seed));
    const results = await Promise.all(
      requests.map((inputs) =>
        graph.executor.execute(inputs, createRequestContext({ graph: 'dtypes-batched', timeoutMs: 5000, signal: new AbortController().signal })),
      ),
    );
    assert.equal(batches.length, 1, `one run for the ${rowCounts.length} requests: ${JSON.stringify(batches)}`);
    assert.deepEqual([batches[0]?.graph, batches[0]?.node, batches[0]?.size, batches[0]?.requests], ['dtypes-batched', 'identity', 7, 4]);
    results.forEach((result, k) => {
      const byName = new Map(result.outputs.map((t) => [t.name, t]));
      for (const input of requests[k] as Tensor[]) {
        const out = byName.get(input.name.replace('in_', 'out_'));
        assert.ok(out, `request ${k}: no output for ${input.name}`);
        assert.equal(out.datatype, input.datatype);
        assert.deepEqual(out.shape, input.shape, `request ${k} ${out.name} shape`);
        assert.deepEqual(Array.from(out.data as ArrayLike<unknown>), Array.from(input.data as ArrayLike<unknown>), `request ${k} ${out.name}`);
      }
    });
    assert.equal(graph.batchingStats()['identity']?.largestBatchRows, 7);
  });

  it('refuses model.batching on a model whose first dimension is fixed, naming the model and its shapes', async () => {
    const file = graphFile(
      'fixed-batched',
      `inputs: [{name: x, datatype: FP32, shape: [-1, -1]}]
nodes:
  - name: double
    type: model
    inputs: [graph.inputs]
    model:
      uri: ${repoPath('test', 'fixtures', 'models', 'fixed-batch.onnx')}
      batching: {maxBatchSize: 4}
outputs: [double]`,
    );
    await assert.rejects(loadGraphFile(file, loader), (err: unknown) => {
      assert.ok(err instanceof GraphValidationError, String(err));
      assert.equal(err.diagnostics.length, 1, err.message);
      const d = err.diagnostics[0];
      assert.equal(d?.path, 'spec.nodes[0].model.batching');
      assert.match(d?.message ?? '', /^model .*fixed-batch\.onnx cannot be batched: its input "x" \[2, 3\], output "y" \[2, 3\] have a fixed first dimension; batching stacks requests along a dynamic first dimension \(-1\)\. Remove model\.batching/);
      return true;
    });
  });
});
