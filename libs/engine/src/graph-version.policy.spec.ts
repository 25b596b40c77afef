import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, defaultVersionOf } from './graph-version.policy';

describe('compareVersions', () => {
  const cases: [string, string, -1 | 0 | 1][] = [
    ['1', '2', -1],
    ['2', '10', -1],
    ['10', '2', 1],
    ['1.9', '1.10', -1],
    ['1.2', '1.2', 0],
    ['1', '1.0', -1],
    ['a', 'b', -1],
    ['v2', 'v10', 1], // not numeric: lexical
    ['2024-01', '2024-02', -1],
  ];
  for (const [a, b, want] of cases) {
    it(`orders ${a} against ${b} as ${want}`, () => assert.equal(Math.sign(compareVersions(a, b)), want));
  }
});

describe('defaultVersionOf', () => {
  const v = (version: string, servable = true, held = false): { version: string; servable: boolean; held: boolean } => ({ version, servable, held });
  const cases: [string, ReturnType<typeof v>[], string | undefined, string | undefined][] = [
    ['the latest servable version', [v('1'), v('2'), v('10')], undefined, '10'],
    ['a pinned servable version', [v('1'), v('2')], '1', '1'],
    ['the latest when the pinned one is not served', [v('1'), v('2')], '7', '2'],
    ['the latest when the pinned one cannot serve', [v('1', false), v('2')], '1', '2'],
    ['a servable version over a newer failed one', [v('1'), v('2', false)], undefined, '1'],
    ['the latest known when none can serve', [v('1', false), v('3', false)], undefined, '3'],
    ['nothing without versions', [], undefined, undefined],
    ['the current version over a newer one held by its rollout', [v('1'), v('2', true, true)], undefined, '1'],
    ['a held version when it is the only servable one', [v('1', false), v('2', true, true)], undefined, '2'],
  ];
  for (const [what, versions, pinned, want] of cases) it(`serves ${what}`, () => assert.equal(defaultVersionOf(versions, pinned), want));
});
