import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideLease, leaseWrite, observeLease } from './lease.decision';
import type { LeaseRecord } from './kube.types';

const lease = (holder: string | undefined, renewTimeMs: number, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 10,
  acquireTimeMs: 0,
  renewTimeMs,
  leaseTransitions: 3,
  resourceVersion: '7',
  ...extra,
});

describe('decideLease', () => {
  const cases: { name: string; record: LeaseRecord | undefined; seenSinceMs: number; now: number; want: string }[] = [
    { name: 'creates a missing lease', record: undefined, seenSinceMs: 0, now: 0, want: 'create' },
    { name: 'renews its own lease', record: lease('me', 1000), seenSinceMs: 1000, now: 1500, want: 'renew' },
    { name: 'takes a released lease (empty holder)', record: lease('', 1000), seenSinceMs: 1000, now: 1500, want: 'acquire' },
    { name: 'waits while another holder renewed within the duration', record: lease('other', 1000), seenSinceMs: 1000, now: 10_999, want: 'wait' },
    { name: 'takes over once the duration has passed since the record last changed', record: lease('other', 1000), seenSinceMs: 1000, now: 11_000, want: 'acquire' },
    { name: 'counts expiry on its own clock, not the holder’s renewTime', record: lease('other', 0), seenSinceMs: 50_000, now: 55_000, want: 'wait' },
    { name: 'uses the default duration when the lease has none', record: lease('other', 0, { leaseDurationSeconds: undefined }), seenSinceMs: 0, now: 14_000, want: 'wait' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const observation = observeLease(undefined, c.record, c.seenSinceMs);
      assert.equal(decideLease(c.record, observation, 'me', c.now, 15_000).action, c.want);
    });
  }

  it('says until when it waits', () => {
    const record = lease('other', 1000);
    const decision = decideLease(record, observeLease(undefined, record, 2000), 'me', 3000, 15_000);
    assert.deepEqual(decision, { action: 'wait', holder: 'other', expiresAtMs: 12_000 });
  });
});

describe('observeLease', () => {
  it('keeps the time it first saw a record that did not change, and restarts it on a renewal', () => {
    const first = observeLease(undefined, lease('other', 1000), 5000);
    assert.equal(observeLease(first, lease('other', 1000), 9000).sinceMs, 5000);
    assert.equal(observeLease(first, lease('other', 2000), 9000).sinceMs, 9000);
    assert.equal(observeLease(first, lease('third', 1000), 9000).sinceMs, 9000);
  });
});

describe('leaseWrite', () => {
  it('keeps acquireTime and transitions on a renewal', () => {
    const record = lease('me', 1000, { acquireTimeMs: 500 });
    assert.deepEqual(leaseWrite(record, { action: 'renew' }, 'me', 3000, 10_000), { ...record, renewTimeMs: 3000, leaseDurationSeconds: 10 });
  });

  it('counts a takeover from another holder as one more transition, and a free lease as none', () => {
    assert.equal(leaseWrite(lease('other', 0), { action: 'acquire', previousHolder: 'other' }, 'me', 3000, 10_000).leaseTransitions, 4);
    assert.equal(leaseWrite(lease('', 0), { action: 'acquire', previousHolder: undefined }, 'me', 3000, 10_000).leaseTransitions, 3);
    assert.deepEqual(leaseWrite(undefined, { action: 'create' }, 'me', 3000, 10_000), {
      holderIdentity: 'me',
      leaseDurationSeconds: 10,
      acquireTimeMs: 3000,
      renewTimeMs: 3000,
      leaseTransitions: 0,
    });
  });
});
