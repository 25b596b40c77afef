import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorMap } from '@infergraph/protocol';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { parseGraphSource } from '@infergraph/spec';
import { SplitTransport, wholeGraphRemote } from './split.transport';

// Pure-logic unit test: both transports are recording fakes.

const GRAPH = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: heavy, type: transformer, inputs: [graph.inputs]}
    - {name: once, type: transformer, inputs: [graph.inputs], idempotent: false}
    - {name: cheap, type: transformer, inputs: [graph.inputs], resources: {pool: gateway}}
  outputs: [heavy, {name: y, source: once.outputs.x}, {name: z, source: cheap.outputs.x}]
`;

class Recorder implements NodeTransport {
  readonly calls: NodeInvocation[] = [];
  invoke(call: NodeInvocation): Promise<TensorMap> {
    this.calls.push(call);
    return Promise.resolve(new Map() as TensorMap);
  }
}

describe('split transport', () => {
  it('keeps gateway-pool nodes local, sends the rest to workers, and marks non-idempotent calls', async () => {
    const parsed = parseGraphSource(GRAPH, 'g.yaml');
    assert.deepEqual(parsed.diagnostics, []);
    assert.ok(parsed.graph);
    const remote = new Recorder();
    const local = new Recorder();
    const split = new SplitTransport(parsed.graph, remote, local);
    for (const node of ['heavy', 'once', 'cheap']) await split.invoke({ graph: 'g', node, inputs: new Map(), ctx: {} as NodeInvocation['ctx'] });
    assert.deepEqual(remote.calls.map((c) => [c.node, c.idempotent]), [['heavy', undefined], ['once', false]]);
    assert.deepEqual(local.calls.map((c) => c.node), ['cheap']);
  });
});

function graphOf(nodes: string, specLines = ''): NonNullable<ReturnType<typeof parseGraphSource>['graph']> {
  const text = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:${specLines}
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
${nodes}
  outputs: [b.outputs.x]
`;
  const parsed = parseGraphSource(text, 'g.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  return parsed.graph;
}

const REMOTE = (...names: string[]): ReadonlySet<string> => new Set(names);

describe('whole graph on one replica (wholeGraphRemote)', () => {
  const cases: [string, string, ReadonlySet<string>, boolean][] = [
    ['two remote nodes', '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: b, type: transformer, inputs: [a]}', REMOTE('a', 'b'), true],
    [
      'a weighted router between remote nodes',
      '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: r, type: router, inputs: [a], router: {routes: [{name: one, to: [b]}]}}\n    - {name: b, type: transformer, inputs: [r]}',
      REMOTE('a', 'b'),
      true,
    ],
    [
      'a sticky router (it reads a header or parameter)',
      '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: r, type: router, inputs: [a], router: {strategy: sticky, sticky: {header: user}, routes: [{name: one, to: [b]}]}}\n    - {name: b, type: transformer, inputs: [r]}',
      REMOTE('a', 'b'),
      false,
    ],
    [
      'a conditional router',
      '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: r, type: router, inputs: [a], router: {strategy: conditional, rules: [{when: "params.m == 1", route: one}], default: one, routes: [{name: one, to: [b]}]}}\n    - {name: b, type: transformer, inputs: [r]}',
      REMOTE('a', 'b'),
      false,
    ],
    ['a node that stays in this process', '    - {name: a, type: transformer, inputs: [graph.inputs], resources: {pool: gateway}}\n    - {name: b, type: transformer, inputs: [a]}', REMOTE('b'), false],
    ['one node alone (one call either way)', '    - {name: b, type: transformer, inputs: [graph.inputs]}', REMOTE('b'), false],
  ];
  for (const [name, nodes, remote, expected] of cases) {
    it(`${expected ? 'runs' : 'does not run'} whole: ${name}`, () => {
      assert.equal(wholeGraphRemote(graphOf(nodes), remote), expected);
    });
  }

  it('does not run whole when the spec asks for node-by-node calls (spec.nodeCalls: node), and does with nodeCalls: graph', () => {
    const nodes = '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: b, type: transformer, inputs: [a]}';
    assert.equal(wholeGraphRemote(graphOf(nodes, '\n  nodeCalls: node'), REMOTE('a', 'b')), false);
    assert.equal(wholeGraphRemote(graphOf(nodes, '\n  nodeCalls: graph'), REMOTE('a', 'b')), true);
    const remote: NodeTransport = { invoke: () => Promise.resolve(new Map()), wholeGraph: () => () => Promise.resolve(undefined) };
    assert.equal(new SplitTransport(graphOf(nodes, '\n  nodeCalls: node'), remote, new Recorder()).wholeGraph('g'), undefined);
  });

  it('asks the remote side where a whole-graph call waits', () => {
    const nodes = '    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: b, type: transformer, inputs: [a], resources: {pool: gateway}}';
    const remote: NodeTransport = { invoke: () => Promise.resolve(new Map()), describeWait: (_g, node) => `remote ${node}` };
    const local: NodeTransport = { invoke: () => Promise.resolve(new Map()), describeWait: (_g, node) => `local ${node}` };
    const split = new SplitTransport(graphOf(nodes), remote, local);
    assert.deepEqual([split.describeWait('g', '*'), split.describeWait('g', 'a'), split.describeWait('g', 'b')], ['remote *', 'remote a', 'local b']);
  });

  it('asks the remote side for the remote nodes only, and marks the call not idempotent when a node is not', async () => {
    const graph = graphOf('    - {name: a, type: transformer, inputs: [graph.inputs], idempotent: false}\n    - {name: b, type: transformer, inputs: [a]}');
    const asked: (readonly string[])[] = [];
    const calls: unknown[] = [];
    const remote: NodeTransport = {
      invoke: () => Promise.resolve(new Map()),
      wholeGraph: (_graph, nodes) => {
        asked.push(nodes);
        return (call) => {
          calls.push(call.idempotent);
          return Promise.resolve(undefined);
        };
      },
    };
    const split = new SplitTransport(graph, remote, new Recorder());
    const run = split.wholeGraph('g');
    assert.ok(run);
    await run({ graph: 'g', inputs: [], ctx: {} as NodeInvocation['ctx'] });
    assert.deepEqual(asked, [['a', 'b']]);
    assert.deepEqual(calls, [false]);
  });
});
