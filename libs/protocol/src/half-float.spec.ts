import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHalfBits, toHalfBits } from './half-float';

const hex = (bits: number): string => `0x${bits.toString(16).padStart(4, '0')}`;
const isHalfNaN = (bits: number): boolean => (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;

// Published IEEE 754 binary16 encodings (value -> bits), exactly representable.
const EXACT: [value: number, bits: number][] = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-1, 0xbc00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [1 + 2 ** -10, 0x3c01], // next half after 1
  [65504, 0x7bff], // largest finite
  [-65504, 0xfbff],
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
  [2 ** -24, 0x0001], // smallest subnormal
  [-(2 ** -24), 0x8001],
  [2048, 0x6800],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
];

// Values that must be rounded to nearest, ties to even.
const ROUNDED: [name: string, value: number, bits: number][] = [
  ['0.1 rounds to its nearest half', 0.1, 0x2e66],
  ['1/3 rounds to its nearest half', 1 / 3, 0x3555],
  ['1 + 2^-11 (a tie) rounds to the even 1', 1 + 2 ** -11, 0x3c00],
  ['1 + 3*2^-11 (a tie) rounds up to the even 1 + 2^-9', 1 + 3 * 2 ** -11, 0x3c02],
  ['1 + 2^-11 + 2^-40 (just above a tie) rounds up', 1 + 2 ** -11 + 2 ** -40, 0x3c01],
  ['1 + 3*2^-11 - 2^-40 (just below a tie) rounds down', 1 + 3 * 2 ** -11 - 2 ** -40, 0x3c01],
  ['2049 (a tie) rounds to the even 2048', 2049, 0x6800],
  ['2051 (a tie) rounds up to the even 2052', 2051, 0x6802],
  ['65519 stays at the largest finite half', 65519, 0x7bff],
  ['65519.999 (just below the overflow tie) stays finite', 65519.999, 0x7bff],
  ['65520 (the tie with 2^16) overflows to Infinity', 65520, 0x7c00],
  ['-65520 overflows to -Infinity', -65520, 0xfc00],
  ['1e6 overflows to Infinity', 1e6, 0x7c00],
  ['1e300 overflows to Infinity', 1e300, 0x7c00],
  ['2^-25 (a tie with zero) rounds to zero', 2 ** -25, 0x0000],
  ['2^-25 + 2^-70 (just above that tie) rounds to the smallest subnormal', 2 ** -25 + 2 ** -70, 0x0001],
  ['3*2^-25 (a subnormal tie) rounds to the even 2^-23', 3 * 2 ** -25, 0x0002],
  ['1e-8 underflows to zero', 1e-8, 0x0000],
  ['-1e-8 underflows to negative zero', -1e-8, 0x8000],
  ['5e-324 underflows to zero', 5e-324, 0x0000],
  ['2^-14 - 2^-25 - 2^-30 (just below the normal range) rounds to the largest subnormal', 2 ** -14 - 2 ** -25 - 2 ** -30, 0x03ff],
  ['2^-14 - 2^-25 (a tie at the normal boundary) rounds up to the smallest normal', 2 ** -14 - 2 ** -25, 0x0400],
];

/** Whether `bits` encodes a value nearest to `x`, with ties going to an even mantissa. */
function isNearestEven(x: number, bits: number): boolean {
  const got = fromHalfBits(bits);
  const error = Math.abs(got - x);
  for (const neighbour of [bits - 1, bits + 1]) {
    if ((neighbour & 0x7fff) > 0x7c00 || neighbour < 0 || (neighbour & 0x8000) !== (bits & 0x8000)) continue;
    const other = Math.abs(fromHalfBits(neighbour) - x);
    if (other < error) return false;
    if (other === error && (bits & 1) === 1) return false;
  }
  return true;
}

describe('half-precision float conversion', () => {
  for (const [value, bits] of EXACT) {
    it(`encodes ${Object.is(value, -0) ? '-0' : value} as ${hex(bits)} and decodes it back`, () => {
      assert.equal(hex(toHalfBits(value)), hex(bits));
      assert.ok(Object.is(fromHalfBits(bits), value), `fromHalfBits(${hex(bits)}) = ${fromHalfBits(bits)}`);
    });
  }

  for (const [name, value, bits] of ROUNDED) {
    it(name, () => {
      assert.equal(hex(toHalfBits(value)), hex(bits));
    });
  }

  it('decodes 0x2e66 and 0x3555 to their exact binary16 values', () => {
    assert.equal(fromHalfBits(0x2e66), 0.0999755859375);
    assert.equal(fromHalfBits(0x3555), 0.333251953125);
  });

  it('encodes NaN as a NaN pattern and decodes every NaN pattern as NaN', () => {
    assert.ok(isHalfNaN(toHalfBits(NaN)), hex(toHalfBits(NaN)));
    for (const bits of [0x7c01, 0x7e00, 0x7fff, 0xfc01, 0xfe00, 0xffff]) {
      assert.ok(Number.isNaN(fromHalfBits(bits)), hex(bits));
    }
  });

  it('round-trips every non-NaN bit pattern through a number', () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      if (isHalfNaN(bits)) continue;
      const value = fromHalfBits(bits);
      assert.equal(toHalfBits(value), bits, `${hex(bits)} -> ${value} -> ${hex(toHalfBits(value))}`);
    }
  });

  it('returns exactly representable values unchanged after a round trip', () => {
    const values = [0, 1, -1, 0.75, 3.140625, 1023.5, -0.0009765625, 2 ** -20, 65504, 2 ** 15 + 32];
    for (const value of values) assert.equal(fromHalfBits(toHalfBits(value)), value, String(value));
  });

  it('rounds arbitrary doubles to a nearest half, ties to even', () => {
    // Deterministic LCG so a failure reproduces; covers subnormals through the largest finite halves.
    let seed = 0x2545f491;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 20_000; i++) {
      const x = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 41 - 25) * (1 + next());
      if (Math.abs(x) >= 65520) continue;
      const bits = toHalfBits(x);
      assert.ok(isNearestEven(x, bits), `${x} -> ${hex(bits)} (${fromHalfBits(bits)})`);
    }
  });
});
