import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTensorJsonRequest } from './oip-json-request.decoder';
import { decodeInferRequestObject } from './oip-request.codec';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** What the general decoder (JSON.parse, then the validating walk) makes of the same text. */
const general = (text: string): ReturnType<typeof decodeInferRequestObject> => decodeInferRequestObject(JSON.parse(text));

describe('V2 tensor JSON decoder: the same request as the general decoder', () => {
  const accepted: { name: string; body: unknown }[] = [
    { name: 'one FP32 row', body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] } },
    { name: 'an id and two inputs of other datatypes', body: { id: 'req-7', inputs: [{ name: 'a', shape: [2], datatype: 'FP64', data: [0.1, -2.5e-7] }, { name: 'b', shape: [3], datatype: 'INT32', data: [-2147483648, 0, 2147483647] }] } },
    { name: 'keys in any order', body: { inputs: [{ data: [1, 2], datatype: 'UINT8', shape: [2], name: 'x' }], id: 'z' } },
    { name: 'INT64 and UINT64 safe integers', body: { inputs: [{ name: 'i', shape: [2], datatype: 'INT64', data: [-9007199254740991, 9007199254740991] }, { name: 'u', shape: [1], datatype: 'UINT64', data: [12] }] } },
    { name: 'an empty tensor', body: { inputs: [{ name: 'e', shape: [0, 4], datatype: 'FP32', data: [] }] } },
    { name: 'a scalar (rank 0, one element)', body: { inputs: [{ name: 's', shape: [], datatype: 'INT16', data: [-7] }] } },
    { name: 'small integer types at their limits', body: { inputs: [{ name: 'a', shape: [2], datatype: 'INT8', data: [-128, 127] }, { name: 'b', shape: [2], datatype: 'UINT16', data: [0, 65535] }, { name: 'c', shape: [1], datatype: 'UINT32', data: [4294967295] }] } },
  ];
  for (const c of accepted) {
    for (const [layout, text] of [['compact', JSON.stringify(c.body)], ['pretty-printed', JSON.stringify(c.body, null, 2)]] as const) {
      it(`decodes ${c.name} (${layout}) exactly as JSON.parse and the general decoder do`, () => {
        const fast = decodeTensorJsonRequest(bytes(text));
        assert.notEqual(fast, undefined);
        assert.deepStrictEqual(fast, general(text));
      });
    }
  }

  it('decodes tensors larger than its scratch space, one after another', () => {
    for (const count of [100_000, 3]) {
      const data = Array.from({ length: count }, (_, i) => (i % 1000) / 8);
      const text = JSON.stringify({ inputs: [{ name: 'x', shape: [count], datatype: 'FP32', data }] });
      assert.deepStrictEqual(decodeTensorJsonRequest(bytes(text)), general(text));
    }
  });

  it('reads every number written in JSON to the same double as JSON.parse', () => {
    // Seeded, so a failure repeats: random doubles in several spellings (shortest, fixed, exponent, integers).
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const texts: string[] = ['0', '-0', '0.0', '-0.0', '1e22', '1e23', '9007199254740993', '123456789012345678901234567890', '1e-400', '1e400', '2.2250738585072014e-308', '5e-324', '0.30000000000000004', '1E+2', '1e-2', '-1.5E-3'];
    for (let i = 0; i < 3000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      texts.push(String(x), x.toFixed(Math.floor(random() * 10)), x.toExponential(Math.floor(random() * 17)), String(Math.round(x)), x.toPrecision(Math.floor(random() * 21) + 1));
    }
    const body = `{"inputs":[{"name":"x","shape":[${texts.length}],"datatype":"FP64","data":[${texts.join(',')}]}]}`;
    const fast = decodeTensorJsonRequest(bytes(body));
    assert.ok(fast !== undefined);
    const data = fast.inputs[0]?.data as Float64Array;
    texts.forEach((t, i) => assert.ok(Object.is(data[i], JSON.parse(t)), `${t}: read ${data[i]}, JSON.parse gives ${JSON.parse(t)}`));
  });
});

describe('V2 tensor JSON decoder: leaves the rest to the general decoder', () => {
  const declined: { name: string; text: string }[] = [
    { name: 'request parameters', text: '{"parameters":{"trace":true},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'requested outputs', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y"}]}' },
    { name: 'input parameters', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1],"parameters":{}}]}' },
    { name: 'nested data', text: '{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[[1,2]]}]}' },
    { name: '"NaN" as a string', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["NaN"]}]}' },
    { name: 'FP16, BOOL and BYTES', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"BOOL","data":[true]}]}' },
    { name: 'an escape in a name', text: '{"inputs":[{"name":"a\\u0062","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'non-ASCII in a name', text: '{"inputs":[{"name":"é","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'an unknown field', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"extra":1}' },
    { name: 'a repeated key', text: '{"inputs":[{"name":"a","name":"b","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'a duplicate input name', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'no inputs', text: '{"inputs":[]}' },
    { name: 'a count that does not match the shape', text: '{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3]}]}' },
    { name: 'a shape past 2^53 elements beside a zero dimension', text: '{"inputs":[{"name":"a","shape":[0,100000000,100000000],"datatype":"FP32","data":[]}]}' },
    { name: 'an integer out of its range', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"UINT8","data":[256]}]}' },
    { name: 'a fraction for an integer type', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[1.5]}]}' },
    { name: 'an INT64 beyond 2^53', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[9007199254740993]}]}' },
    { name: 'a negative UINT64', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"UINT64","data":[-1]}]}' },
    { name: 'an id with a control character', text: '{"id":"a\\nb","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}' },
    { name: 'a leading zero (not JSON)', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[01]}]}' },
    { name: 'a trailing comma (not JSON)', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1,]}]}' },
    { name: 'text after the object', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]} x' },
    { name: 'a truncated body', text: '{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1' },
    { name: 'a shape with a negative dimension', text: '{"inputs":[{"name":"a","shape":[-1],"datatype":"FP32","data":[1]}]}' },
    { name: 'a rank past the limit', text: `{"inputs":[{"name":"a","shape":[${Array(65).fill(1).join(',')}],"datatype":"FP32","data":[1]}]}` },
  ];
  for (const c of declined) {
    it(`declines ${c.name}`, () => {
      assert.equal(decodeTensorJsonRequest(bytes(c.text)), undefined);
    });
  }
});
