import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inferRequestSchema, isWellFormedInferRequest } from './oip.schema';

const input = { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] };

// The hot-path check must accept exactly what the schema accepts: each case is judged by both.
const CASES: [string, unknown][] = [
  ['a minimal request', { inputs: [input] }],
  ['id, parameters and outputs', { id: 'r1', parameters: { trace: true }, inputs: [input], outputs: [{ name: 'y', parameters: { binary_data: true } }] }],
  ['binary input without data', { inputs: [{ name: 'x', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } }] }],
  ['BYTES input', { inputs: [{ name: 's', shape: [1], datatype: 'BYTES', data: ['a'] }] }],
  ['not an object', [input]],
  ['null', null],
  ['no inputs', {}],
  ['empty inputs', { inputs: [] }],
  ['inputs not an array', { inputs: input }],
  ['unknown top-level key', { inputs: [input], model: 'm' }],
  ['unknown input key', { inputs: [{ ...input, extra: 1 }] }],
  ['numeric id', { id: 7, inputs: [input] }],
  ['parameters array', { parameters: [], inputs: [input] }],
  ['parameters null', { parameters: null, inputs: [input] }],
  ['empty name', { inputs: [{ ...input, name: '' }] }],
  ['numeric name', { inputs: [{ ...input, name: 3 }] }],
  ['unknown datatype', { inputs: [{ ...input, datatype: 'FLOAT' }] }],
  ['lower-case datatype', { inputs: [{ ...input, datatype: 'fp32' }] }],
  ['negative dimension', { inputs: [{ ...input, shape: [-1, 2] }] }],
  ['fractional dimension', { inputs: [{ ...input, shape: [1.5] }] }],
  ['string dimension', { inputs: [{ ...input, shape: ['1'] }] }],
  ['huge dimension', { inputs: [{ ...input, shape: [2 ** 60] }] }],
  ['shape not an array', { inputs: [{ ...input, shape: 2 }] }],
  ['input parameters a string', { inputs: [{ ...input, parameters: 'p' }] }],
  ['outputs not an array', { inputs: [input], outputs: { name: 'y' } }],
  ['output without a name', { inputs: [input], outputs: [{}] }],
  ['output with an unknown key', { inputs: [input], outputs: [{ name: 'y', datatype: 'FP32' }] }],
  ['output parameters an array', { inputs: [input], outputs: [{ name: 'y', parameters: [] }] }],
];

describe('isWellFormedInferRequest', () => {
  for (const [what, raw] of CASES) {
    it(`agrees with the zod schema on ${what}`, () => {
      assert.equal(isWellFormedInferRequest(raw), inferRequestSchema.safeParse(raw).success);
    });
  }
});
