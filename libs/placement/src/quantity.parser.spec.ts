import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatCpu, parseBytes, parseCpu, type Rounding } from './quantity.parser';

const Ki = 1024;
const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

describe('cpu quantity parser', () => {
  const good: [input: string | number, cores: number][] = [
    ['2', 2],
    ['0.5', 0.5],
    ['.25', 0.25],
    ['500m', 0.5],
    ['1500m', 1.5],
    ['100m', 0.1],
    ['0m', 0],
    [' 250m ', 0.25],
    [0.5, 0.5],
    [4, 4],
  ];
  for (const [input, cores] of good) {
    it(`reads ${JSON.stringify(input)} as ${cores} cores`, () => {
      assert.equal(parseCpu(input), cores);
    });
  }

  const bad: (string | number)[] = ['', 'two', '-1', '1.', '500M', '0.5 cores', '2c', -0.5, Number.NaN, Infinity];
  for (const input of bad) {
    it(`rejects ${typeof input === 'string' ? JSON.stringify(input) : String(input)}, naming it and the accepted forms`, () => {
      const text = typeof input === 'string' ? JSON.stringify(input) : String(input);
      assert.throws(() => parseCpu(input), { message: `invalid cpu quantity ${text}: expected cores as a number ("2", "0.5") or millicores ("500m")` });
    });
  }
});

describe('byte quantity parser', () => {
  const good: [input: string | number, bytes: number][] = [
    ['512Mi', 512 * Mi],
    ['4Gi', 4 * Gi],
    ['1G', 1e9],
    ['100M', 100e6],
    ['64k', 64_000],
    ['64Ki', 64 * Ki],
    ['2Ti', 2 * 1024 ** 4],
    ['3T', 3e12],
    ['1Pi', 1024 ** 5],
    ['1048576', 1048576],
    ['0', 0],
    ['1.5Gi', 1.5 * Gi],
    ['1.1k', 1100],
    ['0.1Gi', 107374183],
    ['0.5', 1],
    [' 8Gi ', 8 * Gi],
    [1048576, 1048576],
  ];
  for (const [input, bytes] of good) {
    it(`reads ${JSON.stringify(input)} as ${bytes} bytes`, () => {
      assert.equal(parseBytes(input), bytes);
    });
  }

  const FORMS =
    'expected bytes as a whole number ("1048576") or a number with a suffix: Ki, Mi, Gi, Ti, Pi (powers of 1024) ' +
    'or k, M, G, T, P (powers of 1000), e.g. "512Mi", "4Gi", "1G"';
  const bad: [input: string | number, message: string][] = [
    ['', `invalid byte quantity "": ${FORMS}`],
    ['lots', `invalid byte quantity "lots": ${FORMS}`],
    ['-1Gi', `invalid byte quantity "-1Gi": ${FORMS}`],
    ['1Ei', `invalid byte quantity "1Ei": ${FORMS}`],
    ['500m', `invalid byte quantity "500m": ${FORMS}; did you mean "500Mi" (binary) or "500M" (decimal)?`],
    ['512MB', `invalid byte quantity "512MB": ${FORMS}; did you mean "512Mi" (binary) or "512M" (decimal)?`],
    ['4gi', `invalid byte quantity "4gi": ${FORMS}; did you mean "4Gi" (binary) or "4G" (decimal)?`],
    ['2K', `invalid byte quantity "2K": ${FORMS}; did you mean "2Ki" (binary) or "2k" (decimal)?`],
    ['1 GiB', `invalid byte quantity "1 GiB": ${FORMS}; did you mean "1Gi" (binary) or "1G" (decimal)?`],
    [0.5, `invalid byte quantity 0.5: ${FORMS}`],
    [-1, `invalid byte quantity -1: ${FORMS}`],
    ['9Pi', 'byte quantity "9Pi" is too large (over 8Pi)'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}, naming it and the accepted forms`, () => {
      assert.throws(() => parseBytes(input), { message });
    });
  }
});

describe('byte and cpu formatting for messages', () => {
  const cases: [bytes: number, rounding: Rounding, text: string][] = [
    [0, 'nearest', '0'],
    [100, 'nearest', '100'],
    [1023, 'nearest', '1023'],
    [1024, 'nearest', '1Ki'],
    [1536, 'nearest', '1.5Ki'],
    [4 * Gi, 'nearest', '4Gi'],
    [1.5 * Gi, 'nearest', '1.5Gi'],
    [1e9, 'nearest', '953.7Mi'],
    [1023.96 * Mi, 'nearest', '1Gi'],
    [1.51 * Gi, 'up', '1.6Gi'],
    [1.59 * Gi, 'down', '1.5Gi'],
    [2048 * 1024 ** 5, 'nearest', '2048Pi'],
    [-2 * Gi, 'nearest', '-2Gi'],
  ];
  for (const [bytes, rounding, text] of cases) {
    it(`formats ${bytes} bytes rounded ${rounding} as ${text}`, () => {
      assert.equal(formatBytes(bytes, rounding), text);
    });
  }

  it('round-trips every formatted whole amount through the parser', () => {
    for (const text of ['1Ki', '512Mi', '4Gi', '1.5Gi', '3Ti', '100']) assert.equal(formatBytes(parseBytes(text)), text);
  });

  it('formats cores with millicore precision and no trailing zeros', () => {
    assert.deepEqual([2, 1.5, 0.25, 0.1 + 0.2, 0.0004].map(formatCpu), ['2', '1.5', '0.25', '0.3', '0']);
  });
});
