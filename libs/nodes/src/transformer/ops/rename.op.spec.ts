import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32, problemRows, run, spec, typeOf } from '../transform-steps.fixtures';

describe('rename step', () => {
  it('renames tensors in place and sets their names', () => {
    const result = run([{ op: 'rename', map: { a: 'x' } }], f32('a', [1], [1]), f32('b', [1], [2]));
    assert.deepEqual(
      [...result.entries()].map(([key, t]) => [key, t.name, Array.from(t.data as Float32Array)]),
      [
        ['x', 'x', [1]],
        ['b', 'b', [2]],
      ],
    );
  });

  it('swaps two names in one step', () => {
    const result = run([{ op: 'rename', map: { a: 'b', b: 'a' } }], f32('a', [1], [1]), f32('b', [1], [2]));
    assert.deepEqual(
      [...result.values()].map((t) => [t.name, Array.from(t.data as Float32Array)]),
      [
        ['b', [1]],
        ['a', [2]],
      ],
    );
  });

  it('reports a missing source and names that would collide', () => {
    const incoming = [spec('a', 'FP32', [1]), spec('b', 'INT32', [1]), spec('c', 'FP32', [1])];
    const table: [Record<string, string>, [number, string | undefined, string][]][] = [
      [{ missing: 'y' }, [[0, 'map', 'no tensor "missing" at this step (tensors: "a", "b", "c")']]],
      [{ a: 'b' }, [[0, 'map', 'two tensors would be named "b": "a" (renamed) and tensor "b" (not renamed)']]],
      [{ a: 'x', c: 'x' }, [[0, 'map', 'two tensors would be named "x": "a" (renamed) and "c" (renamed)']]],
    ];
    for (const [map, expected] of table) {
      const typed = typeOf([{ op: 'rename', map }], ...incoming);
      assert.deepEqual(problemRows(typed.problems), expected);
      assert.equal(typed.outputs, undefined);
    }
  });

  it('types the renamed tensors', () => {
    assert.deepEqual(typeOf([{ op: 'rename', map: { a: 'x' } }], spec('a', 'FP32', [-1]), spec('b', 'INT32', [2])).outputs, [
      spec('x', 'FP32', [-1]),
      spec('b', 'INT32', [2]),
    ]);
  });
});
