import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { propagation } from '@opentelemetry/api';
import { core, tracing } from '@opentelemetry/sdk-node';
import { GraphInferenceService, GraphRegistry } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import type { InferRequest } from '@infergraph/protocol';
import { OtelGraphTracer } from '@infergraph/telemetry';
import { repoPath } from '../support/repo';

// Integration, in one process: real graph files, real onnxruntime sessions, the real OpenTelemetry SDK
// recording into its in-memory exporter. Asserts the span tree of graph requests.

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const ROW = { name: 'features', shape: [1, 4], datatype: 'FP32' as const, data: new Float32Array([5.1, 3.5, 1.4, 0.2]) };
const req = (row: typeof ROW): InferRequest => ({ id: undefined, parameters: {}, inputs: [row], outputs: undefined, binaryOutput: false });

describe('tracing in-process: a span per graph request and per node call', () => {
  const exporter = new tracing.InMemorySpanExporter();
  // The order in which spans started and ended, as the SDK saw it.
  const order: string[] = [];
  const sequence: tracing.SpanProcessor = {
    onStart: (span) => void order.push(`start ${span.name}`),
    onEnd: (span) => void order.push(`end ${span.name}`),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new tracing.BasicTracerProvider({ spanProcessors: [sequence, new tracing.SimpleSpanProcessor(exporter)] });
  const loader = new OnnxModelLoader();
  const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
  const registry = new GraphRegistry(loader, silent, { tracer: new OtelGraphTracer(provider.getTracer('test')) });
  const service = new GraphInferenceService(registry);

  before(async () => {
    propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
    await registry.loadFile(repoPath('graphs', 'iris.yaml'));
    await registry.loadFile(repoPath('graphs', 'iris-ab.yaml'));
    await registry.loadFile(repoPath('graphs', 'iris-ensemble.yaml'));
  });
  after(async () => {
    propagation.disable();
    await registry.close();
    await loader.close();
  });

  it("parents the request span on the caller's traceparent and every node span on the request span", async () => {
    exporter.reset();
    order.length = 0;
    await service.infer({ graph: 'iris', version: undefined, request: req(ROW), requestId: 'trace-1', headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` } });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'infer iris');
    assert.ok(root, `no request span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(root.spanContext().traceId, TRACE_ID);
    assert.equal(root.parentSpanContext?.spanId, CALLER_SPAN);
    assert.equal(root.attributes['infergraph.request_id'], 'trace-1');
    const nodes = spans.filter((s) => s.name.startsWith('node iris.'));
    assert.deepEqual(nodes.map((s) => s.name).sort(), ['node iris.classifier', 'node iris.species', 'node iris.standardize']);
    for (const n of nodes) {
      assert.equal(n.spanContext().traceId, TRACE_ID);
      assert.equal(n.parentSpanContext?.spanId, root.spanContext().spanId, `${n.name} is not a child of the request span`);
    }
    // Node spans nest inside the request span: started after it and ended before it. Read from the order in which
    // the SDK started and ended them, not from their timestamps: OpenTelemetry anchors each span on Date.now(),
    // which a VM's clock adjustments can move by more than the span lasts.
    const at = (event: 'start' | 'end', name: string): number => order.indexOf(`${event} ${name}`);
    for (const n of nodes) {
      assert.ok(at('start', n.name) > at('start', root.name) && at('end', n.name) < at('end', root.name), `${n.name} is not within the request span: ${order.join(', ')}`);
    }
  });

  it('starts a new trace without a traceparent, spans only the nodes that ran, and spans combiners', async () => {
    exporter.reset();
    await service.infer({ graph: 'iris-ab', version: undefined, request: req(ROW), requestId: undefined, headers: { 'x-user-id': 'u-1' } });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'infer iris-ab');
    assert.ok(root);
    assert.equal(root.parentSpanContext, undefined);
    const children = spans.filter((s) => s !== root);
    assert.ok(children.every((s) => s.parentSpanContext?.spanId === root.spanContext().spanId));
    const models = children.filter((s) => s.attributes['infergraph.node.type'] === 'model');
    assert.equal(models.length, 1, `one A/B branch runs, got ${models.map((s) => s.name).join(', ')}`);

    exporter.reset();
    await service.infer({ graph: 'iris-ensemble', version: undefined, request: req(ROW), requestId: undefined, headers: {} });
    const types = exporter.getFinishedSpans().map((s) => s.attributes['infergraph.node.type']);
    assert.ok(types.includes('combiner'), `no combiner span: ${types.join(', ')}`);
  });

  it('marks the request span as failed with the error code', async () => {
    exporter.reset();
    await assert.rejects(service.infer({ graph: 'iris', version: undefined, request: req({ ...ROW, data: new Float32Array([NaN, 1, 1, 1]) }), requestId: undefined, headers: {} }));
    const root = exporter.getFinishedSpans().find((s) => s.name === 'infer iris');
    assert.ok(root);
    assert.equal(root.status.code, 2); // SpanStatusCode.ERROR
    assert.equal(root.attributes['infergraph.error_code'], 'INVALID_ARGUMENT');
  });
});
