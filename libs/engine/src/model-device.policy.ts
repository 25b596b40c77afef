import type { NodeSpec } from '@infergraph/spec';

/** Where a model node's session should run: "gpu" tries the GPU first (the runtime falls back to CPU). */
export type ModelDevice = 'cpu' | 'gpu';

/**
 * The device a node asks for: "gpu" only for a model node whose `resources.gpuMemory` is above zero
 * (the same demand that makes placement put it on a worker with a GPU); "cpu" for every other node,
 * so small models beside it on a GPU worker do not take GPU memory or pay for device copies.
 */
export function modelDeviceOf(node: NodeSpec): ModelDevice {
  const gpuMemory = node.resources?.gpuMemory;
  if (node.type !== 'model' || gpuMemory === undefined) return 'cpu';
  // A number of bytes, or a quantity such as "2Gi" or "0.5G": only its number says whether it is zero.
  return (typeof gpuMemory === 'number' ? gpuMemory : Number.parseFloat(gpuMemory)) > 0 ? 'gpu' : 'cpu';
}
