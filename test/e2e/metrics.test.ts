import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';

// Prometheus metrics of a real gateway process, read over HTTP after real requests.

/** Parses the text exposition format into series -> value, checking each sample line's syntax. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = (m[2] ?? '').replace(/^\{|\}$/g, '').split(/,(?=[a-zA-Z_]+=")/).filter((l) => l !== '' && !l.startsWith('component=')).sort();
    series.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return series;
}

describe('Prometheus metrics on the gateway', () => {
  let gw: RunningGateway;

  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '' });
  });
  after(async () => {
    await gw?.stop();
  });

  it('counts requests by outcome, times graphs and nodes, counts routes, with bounded labels', async () => {
    const row = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] };
    for (let i = 0; i < 5; i++) assert.equal((await request(gw, 'POST', '/v2/models/iris/infer', { id: `req-secret-${i}`, inputs: [row] })).status, 200);
    assert.equal((await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [{ ...row, datatype: 'FP64' }] })).status, 400);
    for (let i = 0; i < 3; i++) assert.equal((await request(gw, 'POST', '/v2/models/iris-ab/infer', { inputs: [row] }, { 'x-user-id': `user-${i}` })).status, 200);

    const res = await request(gw, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = res.raw.toString();
    const m = parse(text);
    const get = (name: string, labels: Record<string, string> = {}): number | undefined =>
      m.get(`${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`);
    assert.equal(get('infergraph_graph_requests_total', { graph: 'iris', code: 'OK' }), 5);
    assert.equal(get('infergraph_graph_requests_total', { graph: 'iris', code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(get('infergraph_graph_request_duration_seconds_count', { graph: 'iris' }), 6);
    assert.ok((get('infergraph_graph_request_duration_seconds_sum', { graph: 'iris' }) ?? 0) > 0);
    assert.equal(get('infergraph_node_calls_total', { graph: 'iris', node: 'classifier', type: 'model', status: 'ok' }), 5);
    assert.equal(get('infergraph_node_duration_seconds_count', { graph: 'iris', node: 'classifier', type: 'model' }), 5);
    const routed = [...m].filter(([k]) => k.startsWith('infergraph_router_decisions_total{') && k.includes('graph="iris-ab"')).reduce((n, [, v]) => n + v, 0);
    assert.equal(routed, 3);
    assert.equal(get('infergraph_graph_ready', { graph: 'iris' }), 1);
    assert.ok((get('infergraph_graph_load_duration_seconds', { graph: 'iris' }) ?? 0) > 0);
    assert.ok(get('infergraph_process_resident_memory_bytes') !== undefined);
    assert.doesNotMatch(text, /req-secret|user-\d/, 'no request ids or header values in labels');
  });

  it('measures batches, outlier rows, in-flight requests and model load times', async () => {
    const pixels = { name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i % 16) };
    const concurrently = async (): Promise<void> => {
      const answers = await Promise.all(Array.from({ length: 24 }, () => request(gw, 'POST', '/v2/models/digits-batched/infer', { inputs: [pixels] })));
      assert.ok(answers.every((a) => a.status === 200));
    };
    // The first round opens the 24 keep-alive connections; on new connections (a handshake each) the rows can
    // arrive further apart than the graph's 500 µs batching window. The second round is the one measured.
    const scrape = async (): Promise<Map<string, number>> => parse((await request(gw, 'GET', '/metrics')).raw.toString());
    await concurrently();
    const first = await scrape();
    await concurrently();
    const rows = { name: 'features', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 40, -3, 90, 25] };
    assert.equal((await request(gw, 'POST', '/v2/models/iris-monitored/infer', { inputs: [rows] })).status, 200);

    const m = parse((await request(gw, 'GET', '/metrics')).raw.toString());
    const get = (name: string, labels: Record<string, string> = {}): number | undefined =>
      m.get(`${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`);
    const batched = { graph: 'digits-batched', node: 'mlp' };
    const before = (name: string): number => first.get(`${name}{${Object.entries(batched).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`) ?? 0;
    const allBatches = get('infergraph_batch_size_count', batched) ?? 0;
    const batches = allBatches - before('infergraph_batch_size_count');
    assert.equal(get('infergraph_batch_size_sum', batched), 48, 'every row went through a batch');
    assert.ok(batches >= 1 && batches < 24, `24 concurrent rows ran in ${batches} batches`);
    assert.equal(get('infergraph_batch_queue_duration_seconds_count', batched), allBatches);
    assert.equal(get('infergraph_batch_compute_duration_seconds_count', batched), allBatches);
    assert.equal(get('infergraph_outlier_rows_total', { graph: 'iris-monitored', node: 'outliers', outcome: 'outlier' }), 1);
    assert.equal(get('infergraph_outlier_rows_total', { graph: 'iris-monitored', node: 'outliers', outcome: 'normal' }), 1);
    assert.equal(get('infergraph_graph_requests_in_flight', { graph: 'digits-batched' }), 0, 'every request ended');
    assert.ok((get('infergraph_model_load_duration_seconds', batched) ?? 0) > 0);
  });
});
