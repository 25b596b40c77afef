import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Autoscaler } from './autoscaler';

// Pure-logic unit test: time is simulated.

const policy = { key: 'g.slow', min: 1, max: 3, targetInFlight: 2 };
const options = { upAfterMs: 2000, idleAfterMs: 5000, cooldownMs: 1000 };

/** Feeds one observation every 250 ms from `from` to `to`, and returns what decide() said along the way. */
function run(scaler: Autoscaler, state: { wanted: number }, from: number, to: number, inFlight: number): string[] {
  const log: string[] = [];
  for (let t = from; t <= to; t += 250) {
    scaler.observe(policy.key, inFlight, state.wanted, t);
    for (const c of scaler.decide(() => state.wanted, t)) {
      state.wanted = c.replicas;
      log.push(`${t}: ${c.replicas} (${c.reason})`);
    }
  }
  return log;
}

describe('autoscaler', () => {
  it('adds one replica at a time while in-flight per replica stays above the target, up to max', () => {
    const scaler = new Autoscaler(options);
    scaler.setPolicies([policy]);
    const state = { wanted: 1 };
    const log = run(scaler, state, 0, 10_000, 8);
    assert.deepEqual(log, [
      '2000: 2 (in-flight per replica above 2 for 2000 ms)',
      '4250: 3 (in-flight per replica above 2 for 2000 ms)',
    ]);
  });

  it('does not scale up on a short burst', () => {
    const scaler = new Autoscaler(options);
    scaler.setPolicies([policy]);
    const state = { wanted: 1 };
    run(scaler, state, 0, 1500, 8);
    assert.deepEqual(run(scaler, state, 1750, 6000, 1), []);
    assert.equal(state.wanted, 1);
  });

  it('removes replicas after being idle, down to min', () => {
    const scaler = new Autoscaler(options);
    scaler.setPolicies([policy]);
    const state = { wanted: 3 };
    const log = run(scaler, state, 0, 12_000, 0);
    assert.deepEqual(log, ['5000: 2 (idle for 5000 ms)', '10250: 1 (idle for 5000 ms)']);
  });

  it('brings a count back inside [min, max] and ignores nodes without a policy', () => {
    const scaler = new Autoscaler(options);
    scaler.setPolicies([policy]);
    assert.deepEqual(scaler.decide((key) => (key === 'g.slow' ? 7 : 1), 0), [{ key: 'g.slow', replicas: 3, reason: 'outside [1, 3]' }]);
    scaler.observe('g.other', 100, 1, 0);
    assert.deepEqual(scaler.decide(() => 3, 5000), []);
  });
});
