// Double-double arithmetic (an unevaluated sum hi + lo, ~106 bits), after the QD library as
// scipy's xsf uses it for the Smirnov sums: enough to keep (1 - x - v/n)^(n - v) exact to a few ulps
// for n in the millions.

export interface DoubleDouble {
  readonly hi: number;
  readonly lo: number;
}

const SPLITTER = 134217729; // 2^27 + 1

export function dd(hi: number, lo = 0): DoubleDouble {
  return { hi, lo };
}

function quickTwoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

function twoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  const bb = s - a;
  return { hi: s, lo: a - (s - bb) + (b - bb) };
}

/** a * b exactly, by Veltkamp splitting and Dekker's product. */
export function twoProd(a: number, b: number): DoubleDouble {
  const p = a * b;
  const ca = SPLITTER * a;
  const aHi = ca - (ca - a);
  const aLo = a - aHi;
  const cb = SPLITTER * b;
  const bHi = cb - (cb - b);
  const bLo = b - bHi;
  return { hi: p, lo: aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo };
}

export function add(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  const u = quickTwoSum(s.hi, s.lo + t.hi);
  return quickTwoSum(u.hi, u.lo + t.lo);
}

export function addD(a: DoubleDouble, b: number): DoubleDouble {
  const s = twoSum(a.hi, b);
  return quickTwoSum(s.hi, s.lo + a.lo);
}

export function mul(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const p = twoProd(a.hi, b.hi);
  return quickTwoSum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

export function mulD(a: DoubleDouble, b: number): DoubleDouble {
  const p = twoProd(a.hi, b);
  return quickTwoSum(p.hi, p.lo + a.lo * b);
}

export function div(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const q1 = a.hi / b.hi;
  let r = add(a, mulD(b, -q1));
  const q2 = r.hi / b.hi;
  r = add(r, mulD(b, -q2));
  const q3 = r.hi / b.hi;
  return addD(quickTwoSum(q1, q2), q3);
}

export function divD(a: DoubleDouble, b: number): DoubleDouble {
  const q1 = a.hi / b;
  const p = twoProd(q1, b);
  const s = twoSum(a.hi, -p.hi);
  const q2 = (s.hi + (s.lo - p.lo + a.lo)) / b;
  return quickTwoSum(q1, q2);
}

export function toNumber(a: DoubleDouble): number {
  return a.hi + a.lo;
}

/** a = mantissa * 2^exponent with |mantissa.hi| in [0.5, 1). */
export function frexp(a: DoubleDouble): { mantissa: DoubleDouble; exponent: number } {
  if (a.hi === 0 || !Number.isFinite(a.hi)) return { mantissa: a, exponent: 0 };
  BITS.setFloat64(0, a.hi);
  const biased = (BITS.getUint16(0) >> 4) & 0x7ff;
  if (biased === 0) {
    // Subnormal: scale into the normal range first.
    const r = frexp({ hi: a.hi * 2 ** 64, lo: a.lo * 2 ** 64 });
    return { mantissa: r.mantissa, exponent: r.exponent - 64 };
  }
  const exponent = biased - 1022;
  const scale = pow2(-exponent);
  return { mantissa: { hi: a.hi * scale, lo: a.lo * scale }, exponent };
}

export function ldexpDD(a: DoubleDouble, exponent: number): DoubleDouble {
  return { hi: ldexp(a.hi, exponent), lo: ldexp(a.lo, exponent) };
}

/** x * 2^exponent without overflowing the intermediate power of two. */
export function ldexp(x: number, exponent: number): number {
  let result = x;
  let e = exponent;
  while (e > 1000) {
    result *= pow2(1000);
    e -= 1000;
  }
  while (e < -1000) {
    result *= pow2(-1000);
    e += 1000;
  }
  return result * pow2(e);
}

const BITS = new DataView(new ArrayBuffer(8));

/** 2^e for an integer e in [-1022, 1023], built from its bits (Math.pow is slow in hot loops). */
function pow2(e: number): number {
  BITS.setUint32(0, (e + 1023) << 20);
  BITS.setUint32(4, 0);
  return BITS.getFloat64(0);
}
