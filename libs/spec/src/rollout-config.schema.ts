import { z } from 'zod';

/** How long a rollout phase lasts: until the new version answered `requests`, or `seconds` passed (whichever first). */
const holdFields = {
  requests: z.int().min(1).max(100_000_000).optional(),
  seconds: z.number().positive().max(7 * 86_400).optional(),
};
const needsHold = (h: { requests?: number | undefined; seconds?: number | undefined }): boolean => h.requests !== undefined || h.seconds !== undefined;
const HOLD_MESSAGE = 'must hold for `requests` or `seconds` (or both)';

export const rolloutStepSchema = z.strictObject({ weightPercent: z.number().gt(0).max(100), ...holdFields }).refine(needsHold, HOLD_MESSAGE);

/**
 * `spec.rollout` of a graph version: when this version loads beside the version serving the graph now, it
 * does not become the default; traffic moves to it in `steps` (after an optional `shadow` phase, where it
 * answers copies of requests that are discarded), each step judged by `checks` on this process's own
 * measurements of both versions. A failed check rolls back at once; the last passed step promotes.
 */
export const rolloutConfigSchema = z.strictObject({
  shadow: z.strictObject(holdFields).refine(needsHold, HOLD_MESSAGE).optional(),
  steps: z
    .array(rolloutStepSchema)
    .min(1, 'must list at least one step')
    .refine((steps) => steps.every((s, i) => i === 0 || s.weightPercent >= (steps[i - 1] as { weightPercent: number }).weightPercent), 'weightPercent must not decrease from one step to the next'),
  checks: z
    .strictObject({
      /** Failed requests (server faults, not the caller's bad input) over requests of the new version. */
      maxErrorRatio: z.number().min(0).max(1).default(0.01),
      /** p99 latency of the new version, in milliseconds. */
      maxP99Ms: z.number().positive().optional(),
      /** p99 latency of the new version over the current version's. */
      maxP99Ratio: z.number().min(1).optional(),
      /** Shadow phase: share of requests whose outputs the two versions agree on. */
      minAgreement: z.number().min(0).max(1).optional(),
      /** Requests of the new version a phase needs before it is judged (and before errors roll back early). */
      minRequests: z.int().min(1).max(1_000_000).default(20),
    })
    .default({ maxErrorRatio: 0.01, minRequests: 20 }),
  /** Keeps each caller on one version for the whole rollout: the request header naming the caller. */
  sticky: z.strictObject({ header: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name') }).optional(),
});

export type RolloutConfig = z.infer<typeof rolloutConfigSchema>;
export type RolloutStep = z.infer<typeof rolloutStepSchema>;
