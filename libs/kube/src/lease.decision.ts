import type { LeaseRecord } from './kube.types';

/** What a candidate does with the Lease it just read. */
export type LeaseDecision =
  | { readonly action: 'create' }
  | { readonly action: 'renew' }
  | { readonly action: 'acquire'; readonly previousHolder: string | undefined }
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAtMs: number };

/**
 * The Lease as this process last saw it change: a record seen unchanged (same holder and renew time) since
 * `sinceMs` on this process's own clock. Expiry counts from `sinceMs`, never from the record's renewTime,
 * so a skewed clock on the holder's node cannot make a live lease look expired (client-go does the same).
 */
export interface LeaseObservation {
  readonly holder: string | undefined;
  readonly renewTimeMs: number | undefined;
  readonly sinceMs: number;
}

/** The observation after reading `lease` at `nowMs`: kept when the record did not change, else restarted. */
export function observeLease(previous: LeaseObservation | undefined, lease: LeaseRecord | undefined, nowMs: number): LeaseObservation {
  const holder = lease?.holderIdentity === '' ? undefined : lease?.holderIdentity;
  const renewTimeMs = lease?.renewTimeMs;
  if (previous !== undefined && previous.holder === holder && previous.renewTimeMs === renewTimeMs) return previous;
  return { holder, renewTimeMs, sinceMs: nowMs };
}

/**
 * Leader election on one Lease, decided from the record and the time: create it when there is none, renew
 * it when we hold it, take it when it is free or its holder has not renewed it for its duration (counted on
 * our clock from when we saw the record last change), else wait until then.
 */
export function decideLease(lease: LeaseRecord | undefined, observation: LeaseObservation, identity: string, nowMs: number, defaultDurationMs: number): LeaseDecision {
  if (lease === undefined) return { action: 'create' };
  const holder = observation.holder;
  if (holder === identity) return { action: 'renew' };
  if (holder === undefined) return { action: 'acquire', previousHolder: undefined };
  const durationMs = lease.leaseDurationSeconds !== undefined && lease.leaseDurationSeconds > 0 ? lease.leaseDurationSeconds * 1000 : defaultDurationMs;
  const expiresAtMs = observation.sinceMs + durationMs;
  if (nowMs >= expiresAtMs) return { action: 'acquire', previousHolder: holder };
  return { action: 'wait', holder, expiresAtMs };
}

/** The record a candidate writes: a renewal keeps acquireTime and transitions, a takeover counts one more. */
export function leaseWrite(lease: LeaseRecord | undefined, decision: LeaseDecision, identity: string, nowMs: number, durationMs: number): Omit<LeaseRecord, 'resourceVersion'> {
  const durationSeconds = Math.max(1, Math.round(durationMs / 1000));
  if (decision.action === 'renew' && lease !== undefined) {
    return { ...lease, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTimeMs: nowMs };
  }
  const transitions = lease === undefined ? 0 : lease.leaseTransitions + (decision.action === 'acquire' && decision.previousHolder !== undefined ? 1 : 0);
  return { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTimeMs: nowMs, renewTimeMs: nowMs, leaseTransitions: transitions };
}
