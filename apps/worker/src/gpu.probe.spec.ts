import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNvidiaSmiMemory } from './gpu.probe';

describe('nvidia-smi memory probe', () => {
  it('counts GPUs and adds their memory (MiB per line)', () => {
    assert.deepEqual(parseNvidiaSmiMemory('81559\n81559\n'), { count: 2, memoryBytes: 2 * 81559 * 1024 * 1024 });
    assert.deepEqual(parseNvidiaSmiMemory(''), { count: 0, memoryBytes: 0 });
  });

  it('rejects output it does not understand', () => {
    assert.throws(() => parseNvidiaSmiMemory('No devices were found\n'), /unexpected nvidia-smi output/);
  });
});
