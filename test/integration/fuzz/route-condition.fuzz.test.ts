import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InferenceError, type Tensor } from '@infergraph/protocol';
import { evaluateCondition, parseCondition, type ConditionScope } from '@infergraph/nodes';
import { describeThrown, fuzzParameters, thrownBy } from '../../support/fuzz';
import { tensorArb } from '../../support/request-arbitraries';

// Property-based fuzzing of the routing-condition language (`when:` of conditional routers), in memory:
// the parser on arbitrary text, token soups, mutations of valid conditions and deep nesting; the evaluator
// on valid conditions against arbitrary request parameters, headers and tensors. The oracle: parsing
// returns a condition or a message with an offset inside the text, never throws; evaluating returns a
// boolean or refuses the request with INVALID_ARGUMENT.

/** A valid condition's text, from the grammar of `parseCondition`: literals, paths (odd names too), comparisons, in, !, &&, ||, (). */
const conditionTextArb: fc.Arbitrary<string> = fc.letrec<{ or: string; not: string; comparison: string; primary: string; literal: string; path: string }>((tie) => ({
  literal: fc.oneof(
    fc.integer().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map(String).filter((t) => /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)),
    fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null', "'single'", '"\\u00e9\\n"'),
  ),
  path: fc.oneof(
    fc.tuple(fc.constantFrom('params'), fc.array(fc.oneof(fc.constantFrom('.a', '.model', '.constructor', '.__proto__', '.toString', '.length', '["0"]'), fc.string({ maxLength: 5 }).map((k) => `[${JSON.stringify(k)}]`)), { minLength: 1, maxLength: 3 })).map(([root, keys]) => root + keys.join('')),
    fc.constantFrom('headers.x-beta', 'headers["X-Beta"]', 'headers.constructor', 'tensors.t', 'tensors.flag', 'tensors["features"]', 'tensors.__proto__'),
  ),
  primary: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('literal'), tie('path'), tie('or').map((c) => `(${c})`)),
  comparison: fc.oneof(
    tie('primary'),
    fc.tuple(tie('primary'), fc.constantFrom('==', '!=', '<', '<=', '>', '>='), tie('primary')).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(tie('primary'), fc.array(tie('literal'), { minLength: 1, maxLength: 3 })).map(([a, list]) => `${a} in [${list.join(', ')}]`),
  ),
  not: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('comparison'), tie('not').map((n) => `!${n}`)),
  or: fc.array(fc.array(tie('not'), { minLength: 1, maxLength: 3 }).map((and) => and.join(' && ')), { minLength: 1, maxLength: 3 }).map((or) => or.join(' || ')),
})).or;

const CONDITION_TOKENS = [
  'params', 'headers', 'tensors', '.', '.a', '[', ']', '(', ')', '"x"', "'y'", '"\\', '"\\u12"', '1', '-2.5e3', '1e999', 'true', 'null', 'in', '==', '!=', '<', '<=', '>',
  '>=', '!', '&&', '||', '&', '|', '=', ',', ' ', '\t', '\n', '\u00a0', '\u2028', '😀', '\ud800', '#', '$', '__proto__', 'constructor',
];

/** A scope with arbitrary parameters (prototype-named keys too), headers and small tensors of any datatype. */
const scopeArb: fc.Arbitrary<ConditionScope> = fc.record({
  params: fc.dictionary(fc.oneof(fc.constantFrom('a', 'model', 'constructor', '__proto__', 'toString', '0'), fc.string({ maxLength: 4 })), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  headers: fc.dictionary(fc.constantFrom('x-beta', 'constructor', 'user'), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
  tensors: fc.uniqueArray(fc.tuple(fc.constantFrom('t', 'flag', 'features', '__proto__'), tensorArb), { maxLength: 3, selector: ([name]) => name }).map((list) => new Map(list.map(([name, t]): [string, Tensor] => [name, { ...t, name }]))),
});

function assertParsesOrExplains(text: string): void {
  const err = thrownBy(() => {
    const result = parseCondition(text);
    if (!result.ok) {
      assert.ok(result.message.length > 0, 'an empty message');
      assert.ok(Number.isInteger(result.offset) && result.offset >= 0 && result.offset <= text.length, `offset ${result.offset} outside a text of ${text.length}`);
    }
  });
  assert.equal(err, undefined, `parseCondition threw: ${describeThrown(err)}`);
}

describe('fuzzing the routing-condition parser and evaluator', () => {
  it('parses every condition the grammar allows', () => {
    fc.assert(
      fc.property(conditionTextArb, (text) => {
        const result = parseCondition(text);
        assert.ok(result.ok, `${text}: ${result.ok ? '' : result.message}`);
      }),
      fuzzParameters(500),
    );
  });

  it('parses or explains arbitrary text, token soups and mutated conditions', () => {
    const textArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(fc.constantFrom(...CONDITION_TOKENS), { maxLength: 30 }).map((t) => t.join('')),
      fc.tuple(conditionTextArb, fc.nat(), fc.nat({ max: 4 }), fc.constantFrom('', '(', ')', '"', '[', '!', '==', '&&', '\\')).map(([text, at, remove, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + remove);
      }),
    );
    fc.assert(fc.property(textArb, assertParsesOrExplains), fuzzParameters(1500));
  });

  it('refuses deep nesting of "(" and "!" without overflowing the stack, and parses long flat chains', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('(', '!', '!(', 'chain'), (n, kind) => {
        const text = kind === 'chain' ? Array(n).fill('params.a == 1').join(' && ') : kind === '(' ? `${'('.repeat(n)}1${')'.repeat(n)}` : `${kind.repeat(n)}true${kind === '!(' ? ')'.repeat(n) : ''}`;
        assertParsesOrExplains(text);
        const result = parseCondition(text);
        if (kind !== 'chain' && n > 64 * (kind === '!(' ? 0.5 : 1)) assert.ok(!result.ok && /at most 64 nested/.test(result.message), result.ok ? 'accepted' : result.message);
      }),
      fuzzParameters(30),
    );
  });

  it('evaluates valid conditions to a boolean, or refuses the request with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(conditionTextArb, scopeArb, (text, scope) => {
        const parsed = parseCondition(text);
        assert.ok(parsed.ok);
        let value: unknown;
        const err = thrownBy(() => (value = evaluateCondition(parsed.condition, scope)));
        if (err === undefined) assert.equal(typeof value, 'boolean');
        else assert.ok(err instanceof InferenceError && err.code === 'INVALID_ARGUMENT', `${text}: ${describeThrown(err)}`);
      }),
      fuzzParameters(1000),
    );
  });
});
