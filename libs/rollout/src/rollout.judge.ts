import type { RolloutConfig } from '@infergraph/spec';

/** What one version did during a rollout phase. */
export interface VersionSample {
  readonly requests: number;
  /** Requests that failed by the server's fault (see isServerFault). */
  readonly errors: number;
  /** 99th percentile latency in ms; undefined without requests. */
  readonly p99Ms: number | undefined;
}

/** Shadow phase: requests whose outputs both versions produced, and how many of them agreed. */
export interface AgreementSample {
  readonly compared: number;
  readonly agreed: number;
}

export interface Judgement {
  /** `fail`: roll back now; `pass`: the phase may end; `wait`: too few requests to say. */
  readonly verdict: 'pass' | 'fail' | 'wait';
  /** Each check with its figure, e.g. "error ratio 0.2 > 0.01". */
  readonly reasons: readonly string[];
}

/** Inference error codes that are the caller's doing: a version is not judged by them. */
const CALLER_CODES = new Set(['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNPROCESSABLE']);

/** Whether a request outcome code ("OK" or an inference error code) counts against the version that served it. */
export function isServerFault(code: string): boolean {
  return code !== 'OK' && !CALLER_CODES.has(code);
}

/**
 * Judges the new version against the current one with the rollout's checks. Errors fail as soon as the
 * new version has `minRequests` (a fault rate that high will not get better by waiting); latency and
 * agreement are judged then too. `wait` until enough requests.
 */
export function judge(checks: RolloutConfig['checks'], candidate: VersionSample, baseline: VersionSample, agreement: AgreementSample | undefined): Judgement {
  if (candidate.requests < checks.minRequests) return { verdict: 'wait', reasons: [`${candidate.requests} of ${checks.minRequests} requests`] };
  const failed: string[] = [];
  const passed: string[] = [];
  const errorRatio = candidate.errors / candidate.requests;
  (errorRatio > checks.maxErrorRatio ? failed : passed).push(`error ratio ${round(errorRatio)} ${errorRatio > checks.maxErrorRatio ? '>' : '<='} ${checks.maxErrorRatio}`);
  const p99 = candidate.p99Ms;
  if (checks.maxP99Ms !== undefined && p99 !== undefined) (p99 > checks.maxP99Ms ? failed : passed).push(`p99 ${round(p99)} ms ${p99 > checks.maxP99Ms ? '>' : '<='} ${checks.maxP99Ms} ms`);
  if (checks.maxP99Ratio !== undefined && p99 !== undefined && baseline.p99Ms !== undefined && baseline.p99Ms > 0) {
    const ratio = p99 / baseline.p99Ms;
    (ratio > checks.maxP99Ratio ? failed : passed).push(`p99 ratio ${round(ratio)} ${ratio > checks.maxP99Ratio ? '>' : '<='} ${checks.maxP99Ratio}`);
  }
  if (checks.minAgreement !== undefined && agreement !== undefined && agreement.compared > 0) {
    const ratio = agreement.agreed / agreement.compared;
    (ratio < checks.minAgreement ? failed : passed).push(`agreement ${round(ratio)} ${ratio < checks.minAgreement ? '<' : '>='} ${checks.minAgreement}`);
  }
  return failed.length > 0 ? { verdict: 'fail', reasons: failed } : { verdict: 'pass', reasons: passed };
}

/** The 99th percentile (nearest rank) of latencies; undefined for none. */
export function p99Of(latenciesMs: readonly number[]): number | undefined {
  if (latenciesMs.length === 0) return undefined;
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
