import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGraphSource, type NodeSpec } from '@infergraph/spec';
import { modelDeviceOf } from './model-device.policy';

// Pure-logic unit test: nodes parsed from YAML, no model opened.

function nodeWith(type: 'model' | 'transformer', resources: string | undefined): NodeSpec {
  const body = type === 'model' ? 'model: {uri: m.onnx}' : 'transformer: {}';
  const text = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - {name: n, type: ${type}, inputs: [graph.inputs], ${resources === undefined ? '' : `resources: ${resources}, `}${body}}
  outputs: [n]
`;
  const node = parseGraphSource(text, 'g.yaml').graph?.spec.nodes[0];
  assert.ok(node !== undefined, `graph did not parse for resources ${resources}`);
  return node;
}

describe('modelDeviceOf', () => {
  const table: [string, 'model' | 'transformer', string | undefined, 'cpu' | 'gpu'][] = [
    ['a model node with gpuMemory as a quantity asks for the GPU', 'model', '{pool: gpu, gpuMemory: 2Gi}', 'gpu'],
    ['a model node with gpuMemory in bytes asks for the GPU', 'model', '{gpuMemory: 1048576}', 'gpu'],
    ['a model node with a fractional quantity asks for the GPU', 'model', '{gpuMemory: 0.5G}', 'gpu'],
    ['a model node with zero gpuMemory stays on the CPU', 'model', '{pool: gpu, gpuMemory: 0Gi}', 'cpu'],
    ['a model node in a GPU pool without gpuMemory stays on the CPU', 'model', '{pool: gpu, cpu: 1}', 'cpu'],
    ['a model node without resources stays on the CPU', 'model', undefined, 'cpu'],
    ['a transformer never asks for the GPU, whatever its resources', 'transformer', '{gpuMemory: 1Gi}', 'cpu'],
  ];
  for (const [sentence, type, resources, device] of table) {
    it(sentence, () => assert.equal(modelDeviceOf(nodeWith(type, resources)), device));
  }
});
