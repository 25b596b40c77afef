import { inspect } from 'node:util';
import type fc from 'fast-check';

// Budgets of the fuzz tests. `npm test` runs each property a fixed number of times from a fixed seed, so a
// run is repeatable and takes seconds; `npm run fuzz` (scripts/fuzz.mjs) sets FUZZ_RUNS higher and a fresh
// FUZZ_SEED, which it prints: rerun with that FUZZ_SEED (and FUZZ_RUNS) to replay a failure.

/** The seed of `npm test`'s fuzz runs; any fixed number does, changing it is changing the inputs. */
const DEFAULT_SEED = 16_08;

function intFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got "${text}"`);
  return n;
}

/** The seed every property of this process starts from: FUZZ_SEED, or the fixed default. */
export const FUZZ_SEED = intFromEnv('FUZZ_SEED') ?? DEFAULT_SEED;

/** FUZZ_RUNS: how many inputs each property tries, overriding every default budget; undefined in `npm test`. */
export const FUZZ_RUNS = intFromEnv('FUZZ_RUNS');

/**
 * fast-check parameters for one property: `runs` inputs (FUZZ_RUNS when set) from FUZZ_SEED. A failure's
 * message carries the seed and the path of the shrunk counterexample.
 */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: FUZZ_RUNS ?? runs };
}

/**
 * Runs `body` and returns what it threw, or undefined. The fuzz tests' oracle: a decoder either returns or
 * throws the project's typed error; anything else (a TypeError, a RangeError, a stack overflow) is a bug.
 */
export function thrownBy(body: () => unknown): unknown {
  try {
    body();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** What a decoder threw, for an assertion message: an error's stack, or anything else as inspected. */
export function describeThrown(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : inspect(err);
}

/** Bytes of ArrayBuffers alive now (typed arrays, Buffers): what a decoder allocating for a declared size would grow. */
export function arrayBufferBytes(): number {
  return process.memoryUsage().arrayBuffers;
}
