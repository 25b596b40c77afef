import { createHash } from 'node:crypto';

/** What a pick needs from a route: its name and a positive relative weight. */
export interface WeightedRoute {
  readonly name: string;
  readonly weight: number;
}

/**
 * The route whose cumulative share (weights normalised, in declaration order) first exceeds `u`,
 * where `u` is uniform in [0, 1).
 */
export function pickWeighted(routes: readonly WeightedRoute[], u: number): string {
  const last = routes[routes.length - 1];
  if (last === undefined) throw new Error('pickWeighted: no routes to pick from');
  let total = 0;
  for (const r of routes) total += r.weight;
  // Compare against unnormalised cumulative weights: dividing each weight would drift.
  const target = u * total;
  let cumulative = 0;
  for (const r of routes) {
    cumulative += r.weight;
    if (target < cumulative) return r.name;
  }
  return last.name;
}

/**
 * Weighted rendezvous (highest random weight) hashing: every route scores `-weight / ln(h)` with
 * `h = hashUnit(name + NUL + key)`, and the best score wins. A key keeps its route across processes
 * and restarts, the share of keys per route follows the weights, and removing a route moves only
 * the keys that were on it.
 */
export function pickSticky(routes: readonly WeightedRoute[], key: string): string {
  let best: string | undefined;
  let bestScore = -Infinity;
  for (const r of routes) {
    const score = -r.weight / Math.log(hashUnit(`${r.name}\u0000${key}`));
    // Strictly greater: ties go to the route declared first.
    if (best === undefined || score > bestScore) {
      best = r.name;
      bestScore = score;
    }
  }
  if (best === undefined) throw new Error('pickSticky: no routes to pick from');
  return best;
}

const TWO_POW_53 = 2 ** 53;

/**
 * A stable hash of `text` in the open interval (0, 1): the first 52 bits of its SHA-256 digest `j`
 * give `(2j + 1) / 2^53`, exact in a double and never 0 or 1 (so `ln` stays finite and negative).
 */
export function hashUnit(text: string): number {
  const digest = createHash('sha256').update(text, 'utf8').digest();
  const high = digest.readUInt32BE(0);
  const low20 = digest.readUInt32BE(4) >>> 12;
  const j = high * 2 ** 20 + low20;
  return (2 * j + 1) / TWO_POW_53;
}
