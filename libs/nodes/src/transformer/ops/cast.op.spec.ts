import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Datatype, Tensor } from '@infergraph/protocol';
import { assertInvalid, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

const f64 = (values: number[]): Tensor => tensor('x', 'FP64', [values.length], Float64Array.from(values));
const i64 = (values: bigint[]): Tensor => tensor('x', 'INT64', [values.length], BigInt64Array.from(values));

describe('cast step', () => {
  it('converts between datatypes', () => {
    const table: [string, Tensor, Datatype, unknown[]][] = [
      ['floats truncate toward zero', f32('x', [4], [1.9, -1.9, 0.5, -0.5]), 'INT32', [1, -1, 0, 0]],
      ['floats reach INT64 as bigints', f64([3.7, -3.7, -(2 ** 63)]), 'INT64', [3n, -3n, -9223372036854775808n]],
      ['INT64 in range narrows', i64([200n, 0n]), 'UINT8', [200, 0]],
      ['INT64 becomes the nearest double', i64([2n ** 53n + 1n]), 'FP64', [9007199254740992]],
      ['UINT64 within INT64 keeps its value', tensor('x', 'UINT64', [1], BigUint64Array.from([2n ** 62n])), 'INT64', [2n ** 62n]],
      ['nonzero integers become true', tensor('x', 'INT32', [3], Int32Array.from([0, 3, -2])), 'BOOL', [0, 1, 1]],
      ['nonzero floats, NaN included, become true', f32('x', [4], [0, -0, NaN, 0.1]), 'BOOL', [0, 0, 1, 1]],
      ['BOOL becomes 0 and 1', tensor('x', 'BOOL', [2], Uint8Array.from([1, 0])), 'FP32', [1, 0]],
      // 1 = 0x3C00, 0.5 = 0x3800, 65504 (the largest half) = 0x7BFF, 70000 overflows to +Infinity = 0x7C00
      ['floats round to half bits', f32('x', [4], [1, 0.5, 65504, 70000]), 'FP16', [0x3c00, 0x3800, 0x7bff, 0x7c00]],
      // 0x3E00 = 1.5, 0xC500 = -5
      ['half bits decode before truncating', tensor('x', 'FP16', [2], Uint16Array.from([0x3e00, 0xc500])), 'INT8', [1, -5]],
      ['INT8 widens to FP64', tensor('x', 'INT8', [2], Int8Array.from([-128, 127])), 'FP64', [-128, 127]],
    ];
    for (const [what, x, to, expected] of table) {
      const result = run([{ op: 'cast', tensor: 'x', to }], x);
      assert.deepEqual(valuesOf(output(result, 'x', to, [...x.shape])), expected, what);
    }
  });

  it('shares the data when the datatype does not change', () => {
    const x = tensor('x', 'INT32', [2], Int32Array.from([1, 2]));
    const result = run([{ op: 'cast', tensor: 'x', to: 'INT32', output: 'y' }], x);
    assert.equal(output(result, 'y', 'INT32', [2]).data, x.data);
  });

  it('rejects a value the target cannot hold, naming the element', () => {
    const table: [Tensor, Datatype, RegExp][] = [
      [f32('x', [2], [1, 300]), 'UINT8', /^step 0 \(cast\): tensor "x" element 1 is 300; outside the UINT8 range \[0, 255\]$/],
      [f64([NaN]), 'INT32', /element 0 is NaN; cannot cast it to INT32$/],
      [f64([0, Infinity]), 'INT64', /element 1 is Infinity; cannot cast it to INT64$/],
      [f64([2 ** 63]), 'INT64', /element 0 is 9223372036854776000; outside the INT64 range \[-9223372036854775808, 9223372036854775807\]$/],
      [f64([-0.5, -1]), 'UINT32', /element 1 is -1; outside the UINT32 range \[0, 4294967295\]$/],
      [i64([-1n]), 'UINT64', /element 0 is -1; outside the UINT64 range \[0, 18446744073709551615\]$/],
      [i64([300n]), 'UINT8', /element 0 is 300; outside the UINT8 range \[0, 255\]$/],
      [
        tensor('x', 'UINT64', [1], BigUint64Array.from([2n ** 64n - 1n])),
        'INT64',
        /element 0 is 18446744073709551615; outside the INT64 range/,
      ],
    ];
    for (const [x, to, message] of table) assertInvalid(() => run([{ op: 'cast', tensor: 'x', to }], x), message);
  });

  it('neither reads nor writes BYTES', () => {
    assert.deepEqual(
      problemRows(
        typeOf(
          [
            { op: 'cast', tensor: 's', to: 'INT32' },
            { op: 'cast', tensor: 'x', to: 'BYTES' },
          ],
          spec('s', 'BYTES', [1]),
          spec('x', 'FP32', [1]),
        ).problems,
      ),
      [
        [0, 'tensor', 'tensor "s" is BYTES; cast converts numeric and BOOL tensors only'],
        [1, 'to', 'cannot cast to BYTES; cast converts to numeric datatypes and BOOL (use labelMap to map indices to strings)'],
      ],
    );
  });

  it('types the result with the target datatype and the same shape', () => {
    assert.deepEqual(typeOf([{ op: 'cast', tensor: 'x', to: 'FP32', output: 'y' }], spec('x', 'INT64', [-1, 3])), {
      outputs: [spec('x', 'INT64', [-1, 3]), spec('y', 'FP32', [-1, 3])],
      problems: [],
    });
  });
});
