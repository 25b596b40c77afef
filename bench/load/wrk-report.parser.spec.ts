import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORT_MARKER } from './wrk-lua.script';
import { parseWrkReport, type WrkReport } from './wrk-report.parser';

// Pure-logic unit test: wrk's output is given as text.

const WRK_SUMMARY = `Running 5s test @ http://127.0.0.1:8080/v2/models/iris/infer
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.01ms    1.12ms  40.10ms   90.00%
    Req/Sec    10.70k   500.00    11.20k    70.00%
  53500 requests in 5.00s, 9.80MB read
Requests/sec:  10700.00
Transfer/sec:      1.96MB
`;

function report(overrides: Partial<WrkReport> = {}): WrkReport {
  return {
    durationUs: 5_000_000,
    requests: 53_500,
    latencyUs: { p50: 5_810, p99: 12_345, p999: 30_001, max: 40_100 },
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    statuses: { '200': 53_500 },
    cpuS: 1.07,
    ...overrides,
  };
}

const output = (r: WrkReport | string): string => `${WRK_SUMMARY}${REPORT_MARKER}${typeof r === 'string' ? r : JSON.stringify(r)}\n`;

describe('parseWrkReport', () => {
  it('reads requests per second of 2xx answers, microsecond latencies as ms and the generator CPU per request', () => {
    const r = parseWrkReport(output(report()));
    assert.equal(r.seconds, 5);
    assert.equal(r.ok, 53_500);
    assert.equal(r.requestsPerS, 10_700);
    assert.equal(r.p50Ms, 5.81);
    assert.equal(r.p99Ms, 12.345);
    assert.equal(r.p999Ms, 30.001);
    assert.equal(r.loadCpuMsPerRequest, 1070 / 53_500);
    assert.deepEqual([r.non2xx, r.errors, r.timeouts], [0, 0, 0]);
  });

  it('counts every status outside 2xx as non-2xx, 3xx and 4xx included, and leaves them out of req/s', () => {
    const r = parseWrkReport(output(report({ statuses: { '200': 50_000, '204': 500, '302': 1_000, '429': 1_500, '503': 500 }, errors: { connect: 0, read: 0, write: 0, status: 2_000, timeout: 0 } })));
    assert.equal(r.ok, 50_500);
    assert.equal(r.non2xx, 3_000);
    assert.equal(r.requestsPerS, 10_100);
    assert.equal(r.errors, 0, 'statuses are not socket errors');
  });

  it('counts responses wrk completed but the script did not see as not 2xx', () => {
    const r = parseWrkReport(output(report({ statuses: { '200': 53_000 } })));
    assert.equal(r.non2xx, 500);
  });

  it('sums connect, read and write errors as socket errors and keeps timeouts apart', () => {
    const r = parseWrkReport(output(report({ errors: { connect: 3, read: 5, write: 7, status: 0, timeout: 11 } })));
    assert.equal(r.errors, 15);
    assert.equal(r.timeouts, 11);
  });

  it('reports no rate and no CPU per request for a run without responses', () => {
    const r = parseWrkReport(output(report({ requests: 0, statuses: {}, durationUs: 0 })));
    assert.ok(Number.isNaN(r.requestsPerS));
    assert.ok(Number.isNaN(r.loadCpuMsPerRequest));
  });

  it("fails with wrk's output when there is no report line", () => {
    assert.throws(() => parseWrkReport(`${WRK_SUMMARY}unable to connect to 127.0.0.1:1 Connection refused\n`), /no report line[\s\S]*Connection refused/);
  });

  it('names the fields that do not read as expected', () => {
    assert.throws(() => parseWrkReport(output('{"durationUs":-1}')), /durationUs[\s\S]*requests/);
    assert.throws(() => parseWrkReport(output(report({ statuses: { ok: 1 } }))), /statuses/);
  });
});
