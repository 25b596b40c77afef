// A custom transformer in TypeScript, loaded by infergraph at graph load (no build step).
// It turns class probabilities into the top class's confidence and flags uncertain rows; the
// threshold can be set per request with parameters: {"min_confidence": 0.9}.
import type { CustomTransform } from '@infergraph/nodes';

export const confidence: CustomTransform = (inputs, ctx) => {
  const probs = inputs['probabilities'];
  if (probs === undefined) throw new Error('expected a "probabilities" tensor');
  const [rows = 0, classes = 0] = probs.shape;
  const threshold = typeof ctx.parameters['min_confidence'] === 'number' ? ctx.parameters['min_confidence'] : 0.8;
  const data = probs.data as Float32Array;
  const best: number[] = [];
  for (let r = 0; r < rows; r++) best.push(Math.max(...data.subarray(r * classes, (r + 1) * classes)));
  return [
    { name: 'confidence', datatype: 'FP32', shape: [rows], data: best },
    { name: 'uncertain', datatype: 'BOOL', shape: [rows], data: best.map((p) => p < threshold) },
  ];
};
