import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from '@infergraph/protocol';
import { GRAPH_ANSWER_PARAM, decodeGraphAnswer, encodeGraphAnswer } from './graph-answer.codec';
import type { NodeTiming } from './graph.executor';

// Pure-logic unit test: the node report of a whole-graph answer survives the trip through string parameters.

const TIMINGS: NodeTiming[] = [
  { node: 'standardize', type: 'transformer', status: 'ok', startMs: 0.012, durationMs: 0.031 },
  { node: 'route', type: 'router', status: 'ok', startMs: 0.05, durationMs: 0.002 },
  { node: 'classifier', type: 'model', status: 'error', startMs: 0.061, durationMs: 1.5 },
  { node: 'species', type: 'transformer', status: 'skipped', startMs: 1.6, durationMs: 0 },
];

describe('graph answer codec', () => {
  it('decodes what it encodes: timings in order and the routes taken', () => {
    const params = encodeGraphAnswer(TIMINGS, { route: 'logreg', other: 'b' });
    assert.deepEqual(decodeGraphAnswer(params, 'worker w'), { timings: TIMINGS, routes: { route: 'logreg', other: 'b' } });
  });

  it('decodes an empty report (no node ran, no router)', () => {
    assert.deepEqual(decodeGraphAnswer(encodeGraphAnswer([], {}), 'worker w'), { timings: [], routes: {} });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['no report at all', {}, /worker w answered a whole-graph call without its node report/],
    ['a number instead of text', { [GRAPH_ANSWER_PARAM.nodes]: 3, [GRAPH_ANSWER_PARAM.routes]: '' }, /without its node report/],
    ['an unknown status', { [GRAPH_ANSWER_PARAM.nodes]: 'a:model:fine:0:1', [GRAPH_ANSWER_PARAM.routes]: '' }, /malformed node report entry "a:model:fine:0:1"/],
    ['a field too many', { [GRAPH_ANSWER_PARAM.nodes]: 'a:model:ok:0:1:9', [GRAPH_ANSWER_PARAM.routes]: '' }, /malformed node report entry/],
    ['a duration that is not a number', { [GRAPH_ANSWER_PARAM.nodes]: 'a:model:ok:0:x', [GRAPH_ANSWER_PARAM.routes]: '' }, /malformed node report entry/],
    ['a route without its name', { [GRAPH_ANSWER_PARAM.nodes]: '', [GRAPH_ANSWER_PARAM.routes]: 'r=' }, /malformed route "r="/],
  ];
  for (const [name, params, message] of bad) {
    it(`refuses ${name} as the replica's fault (INTERNAL)`, () => {
      assert.throws(
        () => decodeGraphAnswer(params, 'worker w'),
        (err: unknown) => err instanceof InferenceError && err.code === 'INTERNAL' && message.test(err.message),
      );
    });
  }
});
