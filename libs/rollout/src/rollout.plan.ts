import { createHash } from 'node:crypto';
import type { RolloutConfig } from '@infergraph/spec';
import type { Judgement } from './rollout.judge';

/**
 * `waiting`: the new version is loaded but cannot serve yet (a node without a READY replica); it gets no
 * traffic and nothing is judged until it can, then the rollout starts (startOf).
 */
export type RolloutPhase = 'waiting' | 'shadow' | 'canary' | 'promoted' | 'rolled-back' | 'aborted';

/** Where a rollout stands: its phase, its step (index into `steps` while canary) and whether it is paused. */
export interface RolloutPosition {
  readonly phase: RolloutPhase;
  readonly step: number;
  readonly paused: boolean;
}

/** The position a rollout starts in: its shadow phase when it has one, else its first step. */
export function startOf(config: RolloutConfig): RolloutPosition {
  return { phase: config.shadow === undefined ? 'canary' : 'shadow', step: 0, paused: false };
}

/** Whether a rollout is over. */
export function isFinished(p: RolloutPosition): boolean {
  return p.phase === 'promoted' || p.phase === 'rolled-back' || p.phase === 'aborted';
}

/** Share (percent) of unversioned requests the new version answers at a position. */
export function weightOf(config: RolloutConfig, p: RolloutPosition): number {
  switch (p.phase) {
    case 'canary':
      return config.steps[p.step]?.weightPercent ?? 100;
    case 'promoted':
      return 100;
    case 'waiting':
    case 'shadow':
    case 'rolled-back':
    case 'aborted':
      return 0;
  }
}

/** Whether the current phase held long enough: the new version's requests or the seconds since it began. */
export function holdReached(config: RolloutConfig, p: RolloutPosition, candidateRequests: number, elapsedSeconds: number): boolean {
  const hold = p.phase === 'shadow' ? config.shadow : p.phase === 'canary' ? config.steps[p.step] : undefined;
  if (hold === undefined) return false;
  return (hold.requests !== undefined && candidateRequests >= hold.requests) || (hold.seconds !== undefined && elapsedSeconds >= hold.seconds);
}

/**
 * The next position after a judgement: a failure rolls back whatever the hold; a pass moves on only once
 * the hold is reached (shadow → first step → … → promoted). A paused rollout still rolls back on failure.
 */
export function nextPosition(config: RolloutConfig, p: RolloutPosition, judgement: Judgement, held: boolean): RolloutPosition {
  if (isFinished(p) || p.phase === 'waiting') return p;
  if (judgement.verdict === 'fail') return { phase: 'rolled-back', step: p.step, paused: false };
  if (p.paused || !held || judgement.verdict !== 'pass') return p;
  if (p.phase === 'shadow') return { phase: 'canary', step: 0, paused: false };
  return p.step + 1 < config.steps.length ? { phase: 'canary', step: p.step + 1, paused: false } : { phase: 'promoted', step: p.step, paused: false };
}

/**
 * Whether a request goes to the new version at `weightPercent`. A request with a sticky key is placed by a
 * hash of the key (and the rollout), so a caller stays on one version, and one on the new version stays
 * there as the weight grows; others by `u` (uniform in [0, 1)).
 */
export function goesToCandidate(weightPercent: number, rolloutId: string, key: string | undefined, u: number): boolean {
  if (weightPercent <= 0) return false;
  if (weightPercent >= 100) return true;
  return (key === undefined ? u : unitHash(`${rolloutId}\u0000${key}`)) * 100 < weightPercent;
}

/** A stable hash of text in [0, 1). */
function unitHash(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0) / 2 ** 32;
}
