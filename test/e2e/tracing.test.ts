import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp.receiver';
import { untilStreaming } from '../support/kafka-topics';

// Real parts: gateway and worker processes with the OpenTelemetry SDK exporting over OTLP/HTTP to a
// real receiver on loopback; node calls over real gRPC and through a real Kafka broker. Asserts the
// span tree links the caller, the gateway's request and node spans (or its whole-graph call span, for a
// chain graph run whole on the worker), and the worker's spans.

const ROW = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] };
const NODES = ['standardize', 'classifier', 'species'];
const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');

function newTrace(): { traceId: string; callerSpan: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const callerSpan = randomBytes(8).toString('hex');
  return { traceId, callerSpan, traceparent: `00-${traceId}-${callerSpan}-01` };
}

/** Every node of `nodes`: gateway span under the request span, worker span under the gateway's. */
function complete(graph: string, nodes: readonly string[] = NODES): (spans: ReceivedSpan[]) => boolean {
  return (spans) => spans.some((s) => s.name === `infer ${graph}`) && nodes.every((n) => spans.filter((s) => s.name === `node ${graph}.${n}`).length === 2);
}

function requestSpan(graph: string, spans: ReceivedSpan[], callerSpan: string): ReceivedSpan {
  const root = spans.find((s) => s.name === `infer ${graph}`);
  assert.ok(root);
  assert.equal(root.service, 'infergraph-gateway');
  assert.equal(root.kind, 2, 'request span is a server span');
  assert.equal(root.parentSpanId, callerSpan, "request span's parent is the caller's span");
  return root;
}

function assertTree(graph: string, spans: ReceivedSpan[], callerSpan: string, nodes: readonly string[] = NODES): void {
  const root = requestSpan(graph, spans, callerSpan);
  for (const node of nodes) {
    const gw = spans.find((s) => s.name === `node ${graph}.${node}` && s.service === 'infergraph-gateway');
    const wk = spans.find((s) => s.name === `node ${graph}.${node}` && s.service === 'infergraph-worker');
    assert.ok(gw && wk, `${node}: spans ${JSON.stringify(spans.map((s) => `${s.service}:${s.name}`))}`);
    assert.equal(gw.parentSpanId, root.spanId, `${node}: gateway span under the request span`);
    assert.equal(wk.parentSpanId, gw.spanId, `${node}: worker span under the gateway's node span`);
    assert.equal(wk.kind, 2, `${node}: the worker serves the call (server span)`);
    assert.equal(wk.attributes['infergraph.node'], node);
  }
}

/** A chain graph run whole on the worker: one call span each side, then the worker's span of every node. */
function completeWhole(graph: string): (spans: ReceivedSpan[]) => boolean {
  return (spans) =>
    spans.some((s) => s.name === `infer ${graph}`) &&
    spans.filter((s) => s.name === `node ${graph}.*`).length === 2 &&
    NODES.every((n) => spans.some((s) => s.name === `node ${graph}.${n}` && s.service === 'infergraph-worker'));
}

function assertWholeTree(graph: string, spans: ReceivedSpan[], callerSpan: string): void {
  const root = requestSpan(graph, spans, callerSpan);
  const gw = spans.find((s) => s.name === `node ${graph}.*` && s.service === 'infergraph-gateway');
  const wk = spans.find((s) => s.name === `node ${graph}.*` && s.service === 'infergraph-worker');
  assert.ok(gw && wk, `whole-graph call spans ${JSON.stringify(spans.map((s) => `${s.service}:${s.name}`))}`);
  assert.equal(gw.parentSpanId, root.spanId, 'the gateway call span is under the request span');
  assert.equal(wk.parentSpanId, gw.spanId, "the worker's span is under the gateway's call span");
  assert.equal(wk.kind, 2, 'the worker serves the call (server span)');
  for (const node of NODES) {
    const span = spans.find((s) => s.name === `node ${graph}.${node}` && s.service === 'infergraph-worker');
    assert.ok(span, `${node}: no worker span`);
    assert.equal(span.parentSpanId, wk.spanId, `${node}: under the worker's whole-graph span`);
    assert.equal(span.attributes['infergraph.node'], node);
    assert.equal(spans.filter((s) => s.name === `node ${graph}.${node}` && s.service === 'infergraph-gateway').length, 0, `${node}: no gateway call of its own`);
  }
}

describe('tracing across processes over gRPC', () => {
  let receiver: OtlpReceiver;
  let worker: RunningWorker;
  let gateway: RunningGateway;
  let untraced: RunningGateway;

  before(async () => {
    receiver = await OtlpReceiver.start();
    worker = await startWorker({ GRAPHS_DIR: 'graphs', ...receiver.env() });
    [gateway, untraced] = await Promise.all([
      startGateway({ GRAPHS_DIR: 'graphs', NODE_TRANSPORT: 'grpc', WORKERS: worker.address, KAFKA_BROKERS: '', ...receiver.env() }),
      startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '', ...receiver.env(), OTEL_SDK_DISABLED: 'true' }),
    ]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), untraced?.stop()]);
    await worker?.kill();
    await receiver?.close();
  });

  it('links caller → gateway request → whole-graph call → worker spans of every node for a chain graph', async () => {
    const t = newTrace();
    const res = await request(gateway, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertWholeTree('iris', await receiver.trace(t.traceId, completeWhole('iris')), t.callerSpan);
  });

  it('links caller → gateway request → gateway node call → worker node span through gRPC metadata', async () => {
    // A conditional router reads the request, so this graph's nodes are called one by one.
    const t = newTrace();
    const res = await request(gateway, 'POST', '/v2/models/iris-conditional/infer', { inputs: [ROW] }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertTree('iris-conditional', await receiver.trace(t.traceId, complete('iris-conditional', ['logreg'])), t.callerSpan, ['logreg']);
  });

  it('exports nothing when OTEL_SDK_DISABLED=true, even with an endpoint set', async () => {
    const t = newTrace();
    assert.equal((await request(untraced, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { traceparent: t.traceparent })).status, 200);
    // The traced gateway's spans for a later request arrive; the untraced one's never do.
    const probe = newTrace();
    assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { traceparent: probe.traceparent })).status, 200);
    await receiver.trace(probe.traceId, completeWhole('iris'));
    assert.deepEqual(receiver.spans.filter((s) => s.traceId === t.traceId), []);
  });
});

describe('tracing across processes through Kafka', { skip: brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false }, () => {
  const prefix = `tr${randomUUID().slice(0, 8)}`;
  // graphs/kafka/iris-pipeline.yaml declares spec.transport: kafka, and the worker holds its three nodes: each
  // request is one whole-graph call through the first node's topics. NODE_TRANSPORT=kafka sends the fixture
  // iris-per-node (nodeCalls: node) through Kafka too, every node call through its own topics.
  const kafkaEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, GRAPHS_DIR: 'graphs/kafka,test/fixtures/graphs-transports', NODE_TRANSPORT: 'kafka' };
  let receiver: OtlpReceiver;
  let worker: RunningWorker;
  let gateway: RunningGateway;
  let producer: Producer;

  before(async () => {
    receiver = await OtlpReceiver.start();
    worker = await startWorker({ ...kafkaEnv, ...receiver.env() });
    gateway = await startGateway({ ...kafkaEnv, KAFKA_GROUP_ID: `${prefix}-gw`, ...receiver.env() });
    await untilStreaming(gateway, `${prefix}.iris-pipeline.inputs`, 60_000);
    producer = new Kafka({ clientId: 'infergraph-test-tracing', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await gateway?.stop();
    await worker?.kill();
    await receiver?.close();
  });

  it("parents a streamed request on its record's traceparent header and the worker's spans on the whole-graph call through the first node's topics", async () => {
    const t = newTrace();
    await producer.send({ topic: `${prefix}.iris-pipeline.inputs`, messages: [{ key: 'user-1', value: JSON.stringify({ inputs: [ROW] }), headers: { traceparent: t.traceparent } }] });
    assertWholeTree('iris-pipeline', await receiver.trace(t.traceId, completeWhole('iris-pipeline'), 30_000), t.callerSpan);
  });

  it('carries the trace through REST requests whose graph runs whole over Kafka', async () => {
    const t = newTrace();
    const res = await request(gateway, 'POST', '/v2/models/iris-pipeline/infer', { inputs: [ROW] }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertWholeTree('iris-pipeline', await receiver.trace(t.traceId, completeWhole('iris-pipeline'), 30_000), t.callerSpan);
  });

  it('links every node call through its own topics when the graph asks for node-by-node calls', async () => {
    const t = newTrace();
    const res = await request(gateway, 'POST', '/v2/models/iris-per-node/infer', { inputs: [ROW] }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertTree('iris-per-node', await receiver.trace(t.traceId, complete('iris-per-node'), 30_000), t.callerSpan);
  });
});
