import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorMap } from '@infergraph/protocol';
import type { NodeBus, NodeBusKind, NodeBusStats, NodeInvocation, NodeTransport } from '@infergraph/executor';
import { parseGraphSource, type GraphSpec } from '@infergraph/spec';
import { GraphNodeBus, chooseNodeBus, type NodeBusPlan, type NodeBusSettings } from './node-bus.choice';

// Pure-logic unit test: configuration in, bus choice out; the buses are recording fakes.

const NONE: NodeBusSettings = { nodeTransport: 'inprocess', workers: [], controller: undefined, kafkaBrokers: [] };

describe('chooseNodeBus', () => {
  const table: readonly { name: string; settings: Partial<NodeBusSettings>; plan: NodeBusPlan }[] = [
    { name: 'keeps nodes in process by default', settings: {}, plan: { graphs: { kind: 'inprocess' }, kafka: false } },
    { name: 'offers Kafka to graphs that ask for it once brokers are set', settings: { kafkaBrokers: ['k:9092'] }, plan: { graphs: { kind: 'inprocess' }, kafka: true } },
    { name: 'calls the static workers over gRPC', settings: { nodeTransport: 'grpc', workers: ['w1:8001', 'w2:8001'] }, plan: { graphs: { kind: 'grpc', workers: ['w1:8001', 'w2:8001'] }, kafka: false } },
    {
      name: "follows the controller's routing table rather than a static worker list",
      settings: { nodeTransport: 'grpc', workers: ['w1:8001'], controller: 'c:50051' },
      plan: { graphs: { kind: 'grpc', controller: 'c:50051' }, kafka: false },
    },
    { name: 'sends every graph through Kafka with NODE_TRANSPORT=kafka', settings: { nodeTransport: 'kafka', kafkaBrokers: ['k:9092'] }, plan: { graphs: { kind: 'kafka' }, kafka: true } },
    {
      name: 'keeps Kafka for every graph even with a controller',
      settings: { nodeTransport: 'kafka', controller: 'c:50051', kafkaBrokers: ['k:9092'] },
      plan: { graphs: { kind: 'kafka' }, kafka: true },
    },
  ];
  for (const { name, settings, plan } of table) {
    it(name, () => assert.deepEqual(chooseNodeBus({ ...NONE, ...settings }), plan));
  }
});

class FakeBus implements NodeBus {
  readonly graphs: string[] = [];
  closed = 0;
  constructor(readonly kind: NodeBusKind) {}
  forGraph(graph: GraphSpec, local: NodeTransport): NodeTransport {
    this.graphs.push(graph.metadata.name);
    return local;
  }
  stats(): NodeBusStats {
    return { kind: this.kind, calls: 2, pending: 1 };
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

const LOCAL: NodeTransport = { invoke: (_call: NodeInvocation) => Promise.resolve(new Map() as TensorMap) };

function graph(name: string, transport: 'kafka' | undefined): GraphSpec {
  const source = `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: ${name}}
spec:
${transport === undefined ? '' : `  transport: ${transport}\n`}  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes: [{name: t, type: transformer, inputs: [graph.inputs]}]
  outputs: [t]
`;
  const parsed = parseGraphSource(source, `${name}.yaml`);
  assert.ok(parsed.graph !== undefined, JSON.stringify(parsed.diagnostics));
  return parsed.graph;
}

describe('GraphNodeBus', () => {
  it('puts graphs on the configured bus and graphs that ask for Kafka on the Kafka bus', () => {
    const grpc = new FakeBus('grpc');
    const kafka = new FakeBus('kafka');
    const bus = new GraphNodeBus(grpc, kafka);
    bus.forGraph(graph('plain', undefined), LOCAL);
    bus.forGraph(graph('streamed', 'kafka'), LOCAL);
    assert.deepEqual(grpc.graphs, ['plain']);
    assert.deepEqual(kafka.graphs, ['streamed']);
    assert.equal(bus.kind, 'grpc');
    assert.deepEqual(bus.stats(), { kind: 'grpc', calls: 4, pending: 2 });
  });

  it('refuses a Kafka graph when there are no brokers, naming the variable to set', () => {
    const bus = new GraphNodeBus(new FakeBus('inprocess'), undefined);
    assert.throws(() => bus.forGraph(graph('streamed', 'kafka'), LOCAL), /KAFKA_BROKERS/);
  });

  it('closes a bus that is both the configured and the Kafka bus once', async () => {
    const kafka = new FakeBus('kafka');
    const bus = new GraphNodeBus(kafka, kafka);
    bus.forGraph(graph('plain', undefined), LOCAL);
    await bus.close();
    assert.deepEqual(kafka.graphs, ['plain']);
    assert.equal(kafka.closed, 1);
    assert.deepEqual(bus.stats(), { kind: 'kafka', calls: 2, pending: 1 });
  });
});
