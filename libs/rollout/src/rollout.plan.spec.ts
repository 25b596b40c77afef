import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rolloutConfigSchema } from '@infergraph/spec';
import { goesToCandidate, holdReached, nextPosition, startOf, weightOf, type RolloutPosition } from './rollout.plan';
import { isServerFault, judge, p99Of, type Judgement, type VersionSample } from './rollout.judge';

// Pure-logic unit tests of rollout steps and judgements.

const config = rolloutConfigSchema.parse({
  shadow: { requests: 10 },
  steps: [{ weightPercent: 5, requests: 20 }, { weightPercent: 50, seconds: 30 }, { weightPercent: 100, requests: 40 }],
  checks: { maxErrorRatio: 0.05, maxP99Ms: 100, maxP99Ratio: 2, minAgreement: 0.9, minRequests: 10 },
});
const at = (phase: RolloutPosition['phase'], step = 0, paused = false): RolloutPosition => ({ phase, step, paused });
const PASS: Judgement = { verdict: 'pass', reasons: [] };
const FAIL: Judgement = { verdict: 'fail', reasons: ['error ratio 0.2 > 0.05'] };
const WAIT: Judgement = { verdict: 'wait', reasons: [] };

describe('rollout steps', () => {
  it('starts in the shadow phase when there is one, else at the first step', () => {
    assert.deepEqual(startOf(config), at('shadow'));
    assert.deepEqual(startOf(rolloutConfigSchema.parse({ steps: [{ weightPercent: 10, requests: 1 }] })), at('canary'));
  });

  const moves: [string, RolloutPosition, Judgement, boolean, RolloutPosition][] = [
    ['shadow passes into the first step', at('shadow'), PASS, true, at('canary', 0)],
    ['a pass before the hold stays', at('canary', 0), PASS, false, at('canary', 0)],
    ['a step passes into the next', at('canary', 0), PASS, true, at('canary', 1)],
    ['the last step promotes', at('canary', 2), PASS, true, at('promoted', 2)],
    ['a failure rolls back before the hold', at('canary', 1), FAIL, false, at('rolled-back', 1)],
    ['a failure in shadow rolls back', at('shadow'), FAIL, true, at('rolled-back', 0)],
    ['a paused rollout still rolls back', at('canary', 1, true), FAIL, true, at('rolled-back', 1)],
    ['a paused rollout does not advance', at('canary', 1, true), PASS, true, at('canary', 1, true)],
    ['too few requests waits', at('canary', 0), WAIT, true, at('canary', 0)],
    ['a finished rollout stays finished', at('promoted', 2), FAIL, true, at('promoted', 2)],
    ['a waiting rollout is not judged: a failure does not roll it back', at('waiting'), FAIL, true, at('waiting')],
    ['a waiting rollout does not advance on a pass', at('waiting'), PASS, true, at('waiting')],
  ];
  for (const [what, from, judgement, held, want] of moves) it(what, () => assert.deepEqual(nextPosition(config, from, judgement, held), want));

  const weights: [RolloutPosition, number][] = [
    [at('waiting'), 0],
    [at('shadow'), 0],
    [at('canary', 0), 5],
    [at('canary', 1), 50],
    [at('promoted', 2), 100],
    [at('rolled-back', 1), 0],
    [at('aborted', 1), 0],
  ];
  for (const [p, w] of weights) it(`gives the new version ${w} % at ${p.phase} step ${p.step}`, () => assert.equal(weightOf(config, p), w));

  const holds: [RolloutPosition, number, number, boolean][] = [
    [at('waiting'), 999, 999, false],
    [at('shadow'), 9, 999, false],
    [at('shadow'), 10, 0, true],
    [at('canary', 0), 19, 0, false],
    [at('canary', 1), 0, 29.9, false],
    [at('canary', 1), 0, 30, true],
  ];
  for (const [p, requests, seconds, want] of holds) {
    it(`${want ? 'has' : 'has not'} held ${p.phase} step ${p.step} after ${requests} requests and ${seconds} s`, () => assert.equal(holdReached(config, p, requests, seconds), want));
  }
});

describe('rollout judgement', () => {
  const sample = (requests: number, errors: number, p99Ms?: number): VersionSample => ({ requests, errors, p99Ms });
  const cases: [string, VersionSample, VersionSample, { compared: number; agreed: number } | undefined, Judgement['verdict']][] = [
    ['waits below minRequests', sample(9, 9, 1), sample(100, 0, 1), undefined, 'wait'],
    ['passes a healthy version', sample(100, 2, 20), sample(100, 0, 15), undefined, 'pass'],
    ['fails 20 % errors', sample(50, 10, 20), sample(100, 0, 15), undefined, 'fail'],
    ['fails a p99 above maxP99Ms', sample(100, 0, 150), sample(100, 0, 140), undefined, 'fail'],
    ['fails a p99 over twice the current one', sample(100, 0, 50), sample(100, 0, 20), undefined, 'fail'],
    ['fails agreement below minAgreement', sample(100, 0, 10), sample(100, 0, 10), { compared: 100, agreed: 80 }, 'fail'],
    ['passes agreement at minAgreement', sample(100, 0, 10), sample(100, 0, 10), { compared: 100, agreed: 90 }, 'pass'],
  ];
  for (const [what, candidate, baseline, agreement, want] of cases) it(what, () => assert.equal(judge(config.checks, candidate, baseline, agreement).verdict, want));

  it('names the failed check with its figure', () => {
    assert.deepEqual(judge(config.checks, sample(50, 10, 20), sample(50, 0, 15), undefined).reasons, ['error ratio 0.2 > 0.05']);
  });

  const codes: [string, boolean][] = [
    ['OK', false],
    ['INVALID_ARGUMENT', false],
    ['PAYLOAD_TOO_LARGE', false],
    ['INTERNAL', true],
    ['UNAVAILABLE', true],
    ['DEADLINE_EXCEEDED', true],
  ];
  for (const [code, fault] of codes) it(`counts ${code} ${fault ? 'against' : 'not against'} the version`, () => assert.equal(isServerFault(code), fault));

  it('takes the nearest-rank p99', () => {
    assert.equal(p99Of([]), undefined);
    assert.equal(p99Of(Array.from({ length: 100 }, (_, i) => 100 - i)), 99);
    assert.equal(p99Of([3, 1, 2]), 3);
  });
});

describe('rollout traffic split', () => {
  it('keeps a sticky caller on one version, and on the new one as the weight grows', () => {
    for (let i = 0; i < 200; i++) {
      const key = `user-${i}`;
      const at5 = goesToCandidate(5, 'iris:2', key, 0.99);
      assert.equal(goesToCandidate(5, 'iris:2', key, 0.01), at5, key); // u plays no part with a key
      if (at5) assert.equal(goesToCandidate(50, 'iris:2', key, 0), true, key);
    }
  });

  it('splits keys by the weight', () => {
    let candidate = 0;
    for (let i = 0; i < 10_000; i++) if (goesToCandidate(25, 'iris:2', `user-${i}`, 0)) candidate++;
    assert.ok(candidate > 2300 && candidate < 2700, `${candidate} of 10000 keys at 25 %`);
  });

  const draws: [number, number, boolean][] = [
    [0, 0, false],
    [5, 0.049, true],
    [5, 0.05, false],
    [100, 0.999, true],
  ];
  for (const [w, u, want] of draws) it(`sends a keyless request with u=${u} at ${w} % ${want ? 'to' : 'not to'} the new version`, () => assert.equal(goesToCandidate(w, 'g:1', undefined, u), want));
});
