import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGhzOutput } from './ghz.driver';

// Pure-logic unit test: ghz's JSON report and the shell's `times` lines are given as text.

const report = (statuses: Record<string, number>, count: number): string =>
  JSON.stringify({
    date: '2026-12-05T00:00:00Z',
    count,
    total: 2_000_000_000,
    average: 4_000_000,
    rps: count / 2,
    statusCodeDistribution: statuses,
    latencyDistribution: [
      { percentage: 10, latency: 1_000_000 },
      { percentage: 50, latency: 3_500_000 },
      { percentage: 99, latency: 12_250_000 },
    ],
    details: [{ timestamp: '2026-12-05T00:00:00Z', latency: 3_000_000, error: '', status: 'OK' }],
  });
const TIMES = '@@ghz-cpu@@\n0m0.001s 0m0.002s\n0m1.500s 0m0.500s\n';

describe('ghz output', () => {
  it('reads OK answers per second, p50/p99 in ms and ghz CPU per OK answer from the report and the times lines', () => {
    const r = parseGhzOutput(`${report({ OK: 20_000 }, 20_000)}\n${TIMES}`);
    assert.equal(r.ok, 20_000);
    assert.equal(r.seconds, 2);
    assert.equal(r.requestsPerS, 10_000);
    assert.equal(r.p50Ms, 3.5);
    assert.equal(r.p99Ms, 12.25);
    assert.equal(r.failed, 0);
    assert.equal(r.loadCpuMsPerRequest, (2 * 1000) / 20_000);
  });

  it('counts calls that did not end OK as failed, by status', () => {
    const r = parseGhzOutput(`${report({ OK: 900, Unavailable: 100 }, 1000)}\n${TIMES}`);
    assert.equal(r.ok, 900);
    assert.equal(r.failed, 100);
    assert.deepEqual(r.statuses, { OK: 900, Unavailable: 100 });
  });

  it('refuses output without a report, quoting it', () => {
    assert.throws(() => parseGhzOutput('connection refused\n'), /ghz printed no report:\nconnection refused/);
  });
});
