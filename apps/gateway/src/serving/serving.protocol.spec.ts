import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseToGateway, parseToServing } from './serving.protocol';

// Pure-logic unit test of the messages between a gateway and its serving processes; no IPC channel, no process.

const HASH = 'ab'.repeat(32);
const graph = (hash = HASH) => ({ name: 'iris', defaultVersion: '1', versions: [{ version: '1', hash, file: '/graphs/iris.yaml' }] });

describe('parseToServing', () => {
  const valid: { name: string; message: unknown }[] = [
    { name: 'a socket handed over', message: { kind: 'socket' } },
    { name: 'the graphs to answer', message: { kind: 'graphs', graphs: [graph()] } },
    { name: 'an empty list of graphs (nothing to answer here)', message: { kind: 'graphs', graphs: [] } },
    { name: 'a scrape with its id', message: { kind: 'scrape', id: 7 } },
    { name: 'a scrape with id 0', message: { kind: 'scrape', id: 0 } },
    { name: 'stop', message: { kind: 'stop' } },
  ];
  for (const c of valid) {
    it(`takes ${c.name}, as it was sent`, () => assert.deepEqual(parseToServing(c.message), c.message));
  }

  const refused: { name: string; message: unknown; problem: RegExp }[] = [
    { name: 'a version hash that is not 64 lowercase hex characters', message: { kind: 'graphs', graphs: [graph('abc')] }, problem: /^graphs\.0\.versions\.0\.hash: / },
    { name: 'an uppercase version hash', message: { kind: 'graphs', graphs: [graph(HASH.toUpperCase())] }, problem: /^graphs\.0\.versions\.0\.hash: / },
    { name: 'a graph without versions', message: { kind: 'graphs', graphs: [{ ...graph(), versions: [] }] }, problem: /^graphs\.0\.versions: / },
    { name: 'a graph with a key the schema does not know', message: { kind: 'graphs', graphs: [{ ...graph(), extra: 1 }] }, problem: /^graphs\.0: .*extra/ },
    { name: 'a graphs message without its graphs', message: { kind: 'graphs' }, problem: /^graphs: / },
    { name: 'an unknown kind', message: { kind: 'reload' }, problem: /^kind: / },
    { name: 'a message without a kind', message: { id: 1 }, problem: /^kind: / },
    { name: 'a key the kind does not carry', message: { kind: 'stop', now: true }, problem: /^message: .*now/ },
    { name: 'a negative scrape id', message: { kind: 'scrape', id: -1 }, problem: /^id: / },
    { name: 'a fractional scrape id', message: { kind: 'scrape', id: 1.5 }, problem: /^id: / },
    { name: 'a scrape id given as a string', message: { kind: 'scrape', id: '1' }, problem: /^id: / },
    { name: 'null', message: null, problem: /^message: / },
    { name: 'a string', message: 'stop', problem: /^message: / },
    { name: 'an array', message: [{ kind: 'stop' }], problem: /^message: / },
    { name: 'undefined', message: undefined, problem: /^message: / },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the field, without throwing`, () => {
      const result = parseToServing(c.message);
      assert.ok('problem' in result, `expected a refusal, got ${JSON.stringify(result)}`);
      assert.match(result.problem, c.problem);
      assert.doesNotMatch(result.problem, /\n/, 'one line, fit for a log');
    });
  }
});

describe('parseToGateway', () => {
  const series = [{ name: 'infergraph_requests_total', type: 'counter', help: 'requests', values: [{ value: 3, labels: { graph: 'iris' } }], aggregator: 'sum' }];

  it('takes ready', () => assert.deepEqual(parseToGateway({ kind: 'ready' }), { kind: 'ready' }));

  it("takes metrics with prom-client's series, keeping the keys besides name and type", () => {
    assert.deepEqual(parseToGateway({ kind: 'metrics', id: 3, series }), { kind: 'metrics', id: 3, series });
    assert.deepEqual(parseToGateway({ kind: 'metrics', id: 0, series: [] }), { kind: 'metrics', id: 0, series: [] });
  });

  const refused: { name: string; message: unknown; problem: RegExp }[] = [
    { name: 'a kind meant for serving processes', message: { kind: 'stop' }, problem: /^kind: / },
    { name: 'a key ready does not carry', message: { kind: 'ready', graphs: [] }, problem: /^message: .*graphs/ },
    { name: 'metrics with a negative id', message: { kind: 'metrics', id: -2, series }, problem: /^id: / },
    { name: 'metrics with a fractional id', message: { kind: 'metrics', id: 0.5, series }, problem: /^id: / },
    { name: 'a series without its type', message: { kind: 'metrics', id: 1, series: [{ name: 'x' }] }, problem: /^series\.0\.type: / },
    { name: 'metrics without series', message: { kind: 'metrics', id: 1 }, problem: /^series: / },
    { name: 'null', message: null, problem: /^message: / },
    { name: 'a number', message: 42, problem: /^message: / },
    { name: 'an array', message: [], problem: /^message: / },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the field, without throwing`, () => {
      const result = parseToGateway(c.message);
      assert.ok('problem' in result, `expected a refusal, got ${JSON.stringify(result)}`);
      assert.match(result.problem, c.problem);
    });
  }
});
