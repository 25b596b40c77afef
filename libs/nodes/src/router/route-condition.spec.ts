import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor } from '@infergraph/protocol';
import { conditionTensorNames, evaluateCondition, parseCondition, type Condition, type ConditionScope } from './route-condition';

// Pure-logic unit test of the routing condition language: parse, then evaluate against a fixed scope.

function tensor(name: string, datatype: Tensor['datatype'], shape: number[], data: Tensor['data']): [string, Tensor] {
  return [name, { name, datatype, shape, data }];
}

const SCOPE: ConditionScope = {
  params: {
    tier: 'gold',
    age: 42,
    ratio: '0.5',
    beta: true,
    empty: '',
    zero: 0,
    nothing: null,
    nested: { region: 'eu', 'a.b': 1 },
    list: ['x', 'y'],
    'odd key': 'yes',
  },
  headers: { 'x-tenant': 'acme', 'x-version': '2', 'x-infergraph-subject': 'alice', 'x-infergraph-auth': 'jwt' },
  tensors: new Map([
    tensor('score', 'FP32', [1], new Float32Array([0.75])),
    tensor('flag', 'BOOL', [1, 1], new Uint8Array([1])),
    tensor('text', 'BYTES', [1], ['hello']),
    tensor('count', 'INT64', [], new BigInt64Array([7n])),
    tensor('half', 'FP16', [1], new Uint16Array([0x3c00])),
    tensor('batch', 'FP32', [2], new Float32Array([1, 2])),
  ]),
};

function parse(text: string): Condition {
  const parsed = parseCondition(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.message}`);
  return parsed.condition;
}

function evaluate(text: string, scope: ConditionScope = SCOPE): boolean {
  return evaluateCondition(parse(text), scope);
}

const GOOD: [text: string, expected: boolean][] = [
  ['auth.subject == "alice"', true],
  ['auth["method"] in ["jwt", "api-key"]', true],
  ['params.tier == "gold"', true],
  ["params.tier == 'gold'", true],
  ['params.tier != "gold"', false],
  ['params.age == 42', true],
  ['params.age == 42.0', true],
  ['params.age == "42"', true],
  ['params.ratio == 0.5', true],
  ['params.ratio == "0.50"', false],
  ['0 == ""', false],
  ['true == 1', false],
  ['null == false', false],
  ['params.age > 40 && params.age <= 42', true],
  ['params.age >= "42"', true],
  ['params.age < "100"', true],
  ['params.tier < 5', false],
  ['params.tier > 5', false],
  ['true < 2', false],
  ['"abc" < "abd"', true],
  ['"10" < "9"', true],
  ['-1 < 0', true],
  ['1e3 == 1000', true],
  ['params.missing == null', true],
  ['params.nothing == null', true],
  ['params.missing', false],
  ['params.beta', true],
  ['!params.beta', false],
  ['params.empty || params.zero', false],
  ['(params.age)', true],
  ['true', true],
  ['false', false],
  // ! applies to a whole comparison: !(0 == 1), not (!0) == 1.
  ['!params.zero == 1', true],
  // && binds tighter than ||.
  ['params.tier == "gold" || params.age > 100 && false', true],
  ['(params.tier == "gold" || params.age > 100) && false', false],
  ['params.nested.region == "eu"', true],
  ['params.nested["a.b"] == 1', true],
  ['params["odd key"] == "yes"', true],
  ['params.list["1"] == "y"', true],
  ['params.list["2"] == null', true],
  ['params.list.length == null', true],
  ['headers.x-tenant == "acme"', true],
  ['headers["X-Tenant"] == "acme"', true],
  ['headers.X-Version == 2', true],
  ['headers.absent == null', true],
  ['tensors.score > 0.5', true],
  ['tensors.flag == true', true],
  ['tensors.text == "hello"', true],
  ['tensors.count == 7', true],
  ['tensors.half == 1', true],
  ['params.tier in ["silver", "gold"]', true],
  ['params.age in [1, 2, "42"]', true],
  ['params.tier in ["silver"]', false],
  ['!(params.tier in ["silver"])', true],
  ['params.missing in [0, false, null]', true],
  ['"a\\"b" == \'a"b\'', true],
  ["'it\\'s' == \"it's\"", true],
  ['"\\u0041\\t" == "A\\t"', true],
  ['"back\\\\slash" == \'back\\\\slash\'', true],
];

// No lookup reaches a JS prototype: these all read as null.
const PROTOTYPE_KEYS: string[] = [
  'params.constructor == null',
  'params.toString == null',
  'params.__proto__ == null',
  'params.hasOwnProperty == null',
  'params["__proto__"] == null',
  'params.nested.constructor == null',
  'params.list.constructor == null',
  'params.tier.length == null',
  'headers.constructor == null',
  'headers.__proto__ == null',
];

const BAD: [text: string, message: RegExp, offset: number][] = [
  ['', /^expected a value \(.*\) or "\(" at offset 0, found the end$/, 0],
  ['(params.a == 1', /^expected "&&", "\|\|" or "\)" at offset 14, found the end$/, 14],
  ['(params.a', /^expected "==", "!=", "<", "<=", ">", ">=", "in", "&&", "\|\|" or "\)" at offset 9, found the end$/, 9],
  ['params.a == 1 &&', /^expected a value .* at offset 16, found the end$/, 16],
  ['params.a = 1', /^expected .* at offset 9, found "=" \(equality is "=="\)$/, 9],
  ['params.a == 1 & params.b', /^expected "&&", "\|\|" or the end of the condition at offset 14, found "&" \(and is "&&"\)$/, 14],
  ['params.a == 1 | params.b', /at offset 14, found "\|" \(or is "\|\|"\)$/, 14],
  ['params.a == 1 == 2', /^expected "&&", "\|\|" or the end of the condition at offset 14, found "=="$/, 14],
  ['params.a b', /^expected "==", .* or the end of the condition at offset 9, found "b"$/, 9],
  ['params', /^expected "\." or "\[" after "params" at offset 6, found the end$/, 6],
  ['params.', /^expected a name after "\." .* at offset 7, found the end$/, 7],
  ['params.1', /^expected a name after "\." .* at offset 7, found "1"$/, 7],
  ['params[a]', /^expected a quoted name after "\[" at offset 7, found "a"$/, 7],
  ['params["a"', /^expected "\]" at offset 10, found the end$/, 10],
  ['foo == 1', /^expected a value .* at offset 0, found "foo"$/, 0],
  ['params.a ==', /^expected a value .* at offset 11, found the end$/, 11],
  ['params.a in 1', /^expected "\[" at offset 12, found "1"$/, 12],
  ['params.a in [1, x]', /^expected a literal \(number, string, true, false or null\) at offset 16, found "x"$/, 16],
  ['params.a in [1, 2', /^expected "," or "\]" at offset 17, found the end$/, 17],
  ['params.a in []', /^expected a literal .* at offset 13, found "\]"$/, 13],
  ['"abc', /^expected a closing " \(the string opens at offset 0\) at offset 4$/, 4],
  ["params.a == 'x", /^expected a closing ' \(the string opens at offset 12\) at offset 14$/, 14],
  ['"a\\qb"', /^expected an escape .* at offset 3$/, 3],
  ['"\\u12"', /^expected an escape .* at offset 2$/, 2],
  ['headers.a.b == 1', /^expected the end of the headers path .* at offset 9, found "\."$/, 9],
  ['tensors.a["b"] == 1', /^expected the end of the tensors path .* at offset 9, found "\["$/, 9],
  ['params.a @ 1', /at offset 9, found "@"$/, 9],
  ['True', /^expected a value .* at offset 0, found "True"$/, 0],
  ['auth.role == "admin"', /^expected "subject" or "method" after "auth\." at offset 5, found "role"$/, 5],
  ['auth.subject.x == 1', /^expected the end of the auth path .* at offset 12, found "\."$/, 12],
  ['constructor', /^expected a value .* at offset 0, found "constructor"$/, 0],
  ['-x', /^expected a value .* at offset 0, found "-"$/, 0],
  [`${'('.repeat(65)}1${')'.repeat(65)}`, /^expected at most 64 nested "\(" or "!" at offset 64, found "\("$/, 64],
  [`${'!'.repeat(65)}true`, /^expected at most 64 nested "\(" or "!" at offset 64, found "!"$/, 64],
];

describe('routing condition language: evaluation', () => {
  for (const [text, expected] of GOOD) {
    it(`evaluates ${text} to ${expected}`, () => {
      assert.equal(evaluate(text), expected);
    });
  }

  for (const text of PROTOTYPE_KEYS) {
    it(`reads ${text.replace(' == null', '')} as null when the request does not send it`, () => {
      assert.equal(evaluate(text), true);
    });
  }

  it('reads "constructor" and "__proto__" when the request does send them as its own keys', () => {
    const params = JSON.parse('{"constructor": "own", "__proto__": "proto"}') as Record<string, unknown>;
    const scope = { ...SCOPE, params };
    assert.equal(evaluate('params.constructor == "own"', scope), true);
    assert.equal(evaluate('params.__proto__ == "proto"', scope), true);
  });

  it('builds a plain syntax tree', () => {
    assert.deepEqual(parse('params.a["b c"] == 1 || !headers.h'), {
      kind: 'or',
      operands: [
        { kind: 'compare', operator: '==', left: { kind: 'path', root: 'params', keys: ['a', 'b c'] }, right: { kind: 'literal', value: 1 } },
        { kind: 'not', operand: { kind: 'path', root: 'headers', keys: ['h'] } },
      ],
    });
  });

  it('lists the tensors a condition reads, once each, in order', () => {
    assert.deepEqual(conditionTensorNames(parse('tensors.a > 1 && (tensors["b.c"] == 2 || tensors.a < 0) || params.x')), ['a', 'b.c']);
    assert.deepEqual(conditionTensorNames(parse('params.tensors == 1')), []);
  });

  it('does not read a tensor behind a false guard (&& and || short-circuit)', () => {
    assert.equal(evaluate('false && tensors.batch > 0'), false);
    assert.equal(evaluate('true || tensors.absent > 0'), true);
  });

  const FAILURES: [text: string, message: RegExp][] = [
    ['tensors.batch > 0', /reads tensor "batch" as one value, but it has shape \[2\] \(2 elements\)/],
    ['tensors.absent == 1', /reads tensor "absent", but the router received no such tensor \(received: score, flag, text, count, half, batch\)/],
    ['tensors.constructor == 1', /reads tensor "constructor", but the router received no such tensor/],
    ['params.nested == 1', /reads params\.nested, which is an object/],
    ['params.list', /reads params\.list, which is an array/],
  ];
  for (const [text, message] of FAILURES) {
    it(`rejects ${text} with INVALID_ARGUMENT`, () => {
      assert.throws(
        () => evaluate(text),
        (err: unknown) => err instanceof InferenceError && err.code === 'INVALID_ARGUMENT' && message.test(err.message),
      );
    });
  }
});

describe('routing condition language: parse errors', () => {
  for (const [text, message, offset] of BAD) {
    it(`rejects ${JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}…` : text)} saying what was expected at offset ${offset}`, () => {
      const parsed = parseCondition(text);
      assert.equal(parsed.ok, false);
      if (parsed.ok) return;
      assert.match(parsed.message, message);
      assert.equal(parsed.offset, offset);
    });
  }

  it('treats code as data: a string that looks like JavaScript is only compared', () => {
    assert.equal(evaluate('params.tier == "\'); process.exit(1); (\'"'), false);
  });
});
