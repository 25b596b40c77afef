import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from './kube-api.error';
import type { LeaseRecord } from './kube.types';
import { LeaseElector, type ElectorClock, type LeaseStore } from './lease.elector';

// Unit spec of the election loop against an in-memory Lease with the API server's optimistic concurrency
// (a write at a stale resourceVersion is a 409); the real Lease is exercised by test/k8s/operator.test.ts.

class MemoryLease {
  record: LeaseRecord | undefined;
  private version = 0;

  /** A store for one candidate; `cut()` makes its calls fail as if its network were gone, `heal()` ends that. */
  storeFor(): LeaseStore & { cut(): void; heal(): void } {
    let cut = false;
    const check = (): void => {
      if (cut) throw new KubeApiError(0, 'connect ECONNREFUSED');
    };
    return {
      cut: () => {
        cut = true;
      },
      heal: () => {
        cut = false;
      },
      readLease: () => {
        check();
        return Promise.resolve(this.record);
      },
      createLease: (_ns, _name, record) => {
        check();
        if (this.record !== undefined) return Promise.reject(new KubeApiError(409, 'already exists'));
        return Promise.resolve(this.write(record));
      },
      replaceLease: (_ns, _name, record, resourceVersion) => {
        check();
        if (this.record?.resourceVersion !== resourceVersion) return Promise.reject(new KubeApiError(409, 'conflict'));
        return Promise.resolve(this.write(record));
      },
    };
  }

  private write(record: Omit<LeaseRecord, 'resourceVersion'>): LeaseRecord {
    this.record = { ...record, resourceVersion: String(++this.version) };
    return this.record;
  }
}

/** The system clocks, with a wall clock that `step(ms)` moves as an NTP step or a resumed VM would. */
function steppedClock(): ElectorClock & { step(ms: number): void } {
  let offset = 0;
  return {
    wallMs: () => Date.now() + offset,
    monotonicMs: () => performance.now(),
    step: (ms) => {
      offset += ms;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!test()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what} within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe('LeaseElector', () => {
  const timing = { leaseDurationMs: 400, renewIntervalMs: 50, retryIntervalMs: 50, renewDeadlineMs: 250 };

  it('elects one of two candidates, and the other takes over once the leader stops renewing', async () => {
    const lease = new MemoryLease();
    const events: string[] = [];
    const storeA = lease.storeFor();
    const a = new LeaseElector(storeA, { namespace: 'ns', name: 'l', identity: 'a', ...timing, onStartedLeading: () => events.push('a leads'), onStoppedLeading: (r) => events.push(`a stops: ${r}`) });
    const b = new LeaseElector(lease.storeFor(), { namespace: 'ns', name: 'l', identity: 'b', ...timing, onStartedLeading: () => events.push('b leads'), onStoppedLeading: () => events.push('b stops') });
    const keepAlive = setInterval(() => undefined, 1000);
    a.start();
    await until('a leads', () => a.isLeader, 1000);
    b.start();
    await sleep(600); // longer than the lease: b must still wait while a renews
    assert.equal(b.isLeader, false);
    assert.equal(lease.record?.holderIdentity, 'a');

    storeA.cut();
    const lostAfter = await until('a gives up', () => !a.isLeader, 2000);
    const tookOver = await until('b leads', () => b.isLeader, 2000);
    clearInterval(keepAlive);
    await Promise.all([a.stop(), b.stop()]);
    assert.ok(lostAfter <= timing.renewDeadlineMs + 2 * timing.renewIntervalMs + 100, `a stopped leading after ${lostAfter} ms`);
    // b waits out the lease duration, counted from when it last saw a renewal (at most one renew interval before the cut).
    const sinceCut = lostAfter + tookOver;
    assert.ok(sinceCut >= timing.leaseDurationMs - timing.renewIntervalMs, `b took over ${sinceCut} ms after a's last chance to renew`);
    assert.equal(lease.record?.holderIdentity, '');
    assert.deepEqual(
      events.map((e) => e.replace(/:.*/, '')),
      ['a leads', 'a stops', 'b leads', 'b stops'],
    );
    assert.equal(lease.record?.leaseTransitions, 1);
  });

  it('releases the lease when stopped, so a standby takes it at once', async () => {
    const lease = new MemoryLease();
    const a = new LeaseElector(lease.storeFor(), { namespace: 'ns', name: 'l', identity: 'a', ...timing, leaseDurationMs: 60_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    const b = new LeaseElector(lease.storeFor(), { namespace: 'ns', name: 'l', identity: 'b', ...timing, leaseDurationMs: 60_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    const keepAlive = setInterval(() => undefined, 1000);
    a.start();
    await until('a leads', () => a.isLeader, 1000);
    b.start();
    await sleep(100);
    await a.stop();
    const tookOver = await until('b leads', () => b.isLeader, 1000);
    clearInterval(keepAlive);
    await b.stop();
    assert.ok(tookOver < 500, `b took over ${tookOver} ms after the release, not after the 60 s lease`);
  });

  it('keeps a live holder when the standby\'s wall clock steps forward by a minute: no takeover, no second leader', async () => {
    const lease = new MemoryLease();
    const events: string[] = [];
    const clockB = steppedClock();
    // a renews every 300 ms, b looks every 20 ms: b sees the same record many times, across the step too.
    const a = new LeaseElector(lease.storeFor(), { namespace: 'ns', name: 'l', identity: 'a', ...timing, renewIntervalMs: 300, onStartedLeading: () => events.push('a leads'), onStoppedLeading: (r) => events.push(`a stops: ${r}`) });
    const b = new LeaseElector(lease.storeFor(), { namespace: 'ns', name: 'l', identity: 'b', ...timing, retryIntervalMs: 20, clock: clockB, onStartedLeading: () => events.push('b leads'), onStoppedLeading: () => events.push('b stops') });
    const keepAlive = setInterval(() => undefined, 1000);
    a.start();
    await until('a leads', () => a.isLeader, 1000);
    b.start();
    await sleep(150);
    clockB.step(60_000);
    await sleep(3 * timing.leaseDurationMs);
    clearInterval(keepAlive);
    const leaders = [a.isLeader, b.isLeader];
    await Promise.all([a.stop(), b.stop()]);
    assert.deepEqual(leaders, [true, false], `events: ${events.join('; ')}`);
    assert.deepEqual(events.filter((e) => !e.startsWith('a stops: stopped')), ['a leads']);
  });

  it('keeps leading through a failed renewal right after its own wall clock stepped forward by a minute', async () => {
    const lease = new MemoryLease();
    const events: string[] = [];
    const clockA = steppedClock();
    const storeA = lease.storeFor();
    const a = new LeaseElector(storeA, { namespace: 'ns', name: 'l', identity: 'a', ...timing, clock: clockA, onStartedLeading: () => events.push('a leads'), onStoppedLeading: (r) => events.push(`a stops: ${r}`) });
    const keepAlive = setInterval(() => undefined, 1000);
    a.start();
    await until('a leads', () => a.isLeader, 1000);
    // The API goes away for less than the renew deadline, and the wall clock steps meanwhile: the renewal that
    // fails right after the step must not count the step as time without a renewal.
    storeA.cut();
    clockA.step(60_000);
    await sleep(timing.renewIntervalMs + 30);
    storeA.heal();
    await sleep(3 * timing.renewIntervalMs);
    clearInterval(keepAlive);
    const leading = a.isLeader;
    const seen = [...events];
    const holder = lease.record?.holderIdentity;
    // The record carries the stepped wall time: that is what Kubernetes reads.
    const renewedAt = lease.record?.renewTimeMs ?? 0;
    await a.stop();
    assert.equal(leading, true, `events: ${events.join('; ')}`);
    assert.deepEqual(seen, ['a leads'], 'it stopped leading (and took the lease again) over one failed renewal');
    assert.equal(holder, 'a');
    assert.ok(renewedAt > Date.now() + 50_000, `renewTime ${renewedAt} is not on the stepped wall clock`);
  });
});
