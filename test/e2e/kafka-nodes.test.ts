import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { encodeInferRequestProto, encodeNodeCall } from '@infergraph/protocol';
import { EXAMPLES, goldenRows } from '../support/examples';
import { assertSameOutputs } from '../support/same-outputs';
import { startController, type RunningController } from '../support/controller.process';
import { metricSample, scrapeMetrics } from '../support/metrics';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { pairVersionYaml } from '../support/graph-yaml';
import { produceAndConsume, untilStreaming } from '../support/kafka-topics';
import { startWorker, type RunningWorker } from '../support/worker.process';

// Kafka-connected nodes on a real broker: worker processes consume each node's input topic and answer
// on its output topic; the gateway runs routing and joins between topics. Same answers as in-process.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const skip = brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false;

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await test())) {
    if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms ${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A record's headers as text (first value of repeated ones). */
type TextHeaders = Record<string, string>;

/**
 * The headers of every record on these topics that `keep` accepts, by topic, read from the beginning in a group
 * of its own until `done` says so and then for `settleMs` more (to see records that should not be there).
 */
async function recordHeaders(
  topics: readonly string[],
  keep: (key: string | undefined, headers: TextHeaders) => boolean,
  done: (seen: ReadonlyMap<string, TextHeaders[]>) => boolean,
  settleMs = 0,
): Promise<Map<string, TextHeaders[]>> {
  const kafka = new Kafka({ clientId: 'infergraph-test-replay', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `replay-${randomUUID()}` });
  const seen = new Map<string, TextHeaders[]>();
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]));
      if (keep(message.key?.toString(), headers)) seen.set(topic, [...(seen.get(topic) ?? []), headers]);
      await Promise.resolve();
    },
  });
  try {
    await until('the records looked for', () => done(seen), 30_000, () => JSON.stringify([...seen.keys()]));
    await new Promise((r) => setTimeout(r, settleMs));
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** Calls the gateway has made over its node bus so far. */
async function busCallsOf(gw: RunningGateway): Promise<number> {
  return metricSample(await scrapeMetrics(gw.baseUrl), 'infergraph_node_bus_calls_total');
}

describe('Kafka-connected nodes: every example graph through node topics, two worker replicas', { skip }, () => {
  const prefix = `n${randomUUID().slice(0, 8)}`;
  const kafkaEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, NODE_TRANSPORT: 'kafka' };
  let workers: RunningWorker[] = [];
  let local: RunningGateway;
  let viaKafka: RunningGateway;

  before(async () => {
    const GRAPHS_DIR = 'graphs,test/fixtures/graphs-transports';
    workers = await Promise.all([startWorker({ GRAPHS_DIR, ...kafkaEnv }), startWorker({ GRAPHS_DIR, ...kafkaEnv })]);
    [local, viaKafka] = await Promise.all([startGateway({ GRAPHS_DIR, KAFKA_BROKERS: '' }), startGateway({ GRAPHS_DIR, ...kafkaEnv, KAFKA_GROUP_ID: `${prefix}-gw` })]);
  });
  after(async () => {
    // A process that died before the end says why in the test output.
    for (const [name, p] of [['local gateway', local], ['Kafka gateway', viaKafka], ...workers.map((w, i) => [`worker ${i}`, w] as const)] as const) {
      if (p !== undefined && (p.process.exitCode !== null || p.process.signalCode !== null)) console.log(`--- ${name} exited early:\n${p.output().split('\n').slice(-40).join('\n')}`);
    }
    await Promise.all([local?.stop(), viaKafka?.stop()]);
    await Promise.all(workers.map((w) => w.kill()));
  });

  for (const example of EXAMPLES) {
    it(`gives the same outputs in-process and over Kafka for ${example.graph}`, async () => {
      const body = {
        inputs: [{ name: example.input, shape: [example.rows.length, example.rows[0]?.length ?? 0], datatype: 'FP32', data: example.rows }],
        parameters: example.parameters ?? {},
      };
      const path = `/v2/models/${example.graph}/infer`;
      const [a, b] = await Promise.all([request(local, 'POST', path, body, example.headers ?? {}), request(viaKafka, 'POST', path, body, example.headers ?? {})]);
      assertSameOutputs(a, b, example.graph);
    });
  }

  it('passes a node rejection through with its status and details (outlier over Kafka = 422 with scores)', async () => {
    const body = { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 40, -3, 90, 25] }] };
    const [a, b] = await Promise.all([request(local, 'POST', '/v2/models/iris-guarded/infer', body), request(viaKafka, 'POST', '/v2/models/iris-guarded/infer', body)]);
    assert.equal(a.status, 422, JSON.stringify(a.body));
    assert.deepEqual((a.body as { is_outlier?: boolean[] }).is_outlier, [false, true]);
    assert.equal(b.status, a.status, JSON.stringify(b.body));
    assert.deepEqual(b.body, a.body);
  });

  it('honours joinWindowMs between topics: a branch answering after the window is left out, as in-process', async () => {
    const call = async (gw: RunningGateway, parameters: Record<string, unknown>): Promise<unknown> => {
      const res = await request(gw, 'POST', '/v2/models/join-window/infer', { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as { outputs: { data: unknown[] }[] }).outputs[0]?.data;
    };
    // c answers long after the 300 ms window, with a margin for a busy machine delaying the first branch.
    // The call where every branch answers in time goes first: a node topic's partition is consumed in
    // order, so a call keyed onto the partition still busy with the late branch would wait behind it.
    assert.deepEqual(await call(viaKafka, {}), [2, 11, 101]);
    const late = { b_delay_ms: 30, c_delay_ms: 2500 };
    assert.deepEqual(await call(viaKafka, late), [2, 11]);
    assert.deepEqual(await call(local, late), [2, 11]);
  });

  it('shares each node topic between the two worker replicas through one consumer group', async () => {
    const kafka = new Kafka({ clientId: 'infergraph-test-groups', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const group = `${prefix}.iris.classifier`;
      const { groups } = await admin.describeGroups([group]);
      const members = groups[0]?.members ?? [];
      assert.equal(groups[0]?.state, 'Stable');
      assert.equal(members.length, 2, `members of ${group}`);
      for (const m of members) assert.ok(m.memberAssignment.length > 0, `${m.clientId} holds partitions`);
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps each node call and its answer on the node topics, keyed by request id, when the graph asks for node-by-node calls', async () => {
    const id = `trace-${randomUUID()}`;
    const res = await request(viaKafka, 'POST', '/v2/models/iris-per-node/infer', { id, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const topics = ['standardize', 'classifier', 'species'].flatMap((n) => [`${prefix}.iris-per-node.${n}.inputs`, `${prefix}.iris-per-node.${n}.outputs`]);
    const seen = await recordHeaders(topics, (key) => key === id, (s) => topics.every((t) => s.has(t)));
    for (const n of ['standardize', 'classifier', 'species']) {
      const calls = seen.get(`${prefix}.iris-per-node.${n}.inputs`) ?? [];
      assert.deepEqual(
        (seen.get(`${prefix}.iris-per-node.${n}.outputs`) ?? []).map((h) => h['x-infergraph-call']),
        calls.map((h) => h['x-infergraph-call']),
        `${n}: answer carries the call id`,
      );
      assert.ok(calls.every((h) => h['x-infergraph-whole-graph'] === undefined), `${n}: a node call, not a whole-graph call`);
    }
  });

  it('sends a chain graph whole: one call record on its first node\'s inputs topic, the answer on that node\'s outputs, nothing on the other nodes\' topics', async () => {
    const calls = (): Promise<number> => busCallsOf(viaKafka);
    const before = await calls();
    const id = `whole-${randomUUID()}`;
    const row = { id, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [6.3, 3.3, 6.0, 2.5] }] };
    const [res, ref] = await Promise.all([request(viaKafka, 'POST', '/v2/models/iris/infer', row), request(local, 'POST', '/v2/models/iris/infer', row)]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertSameOutputs(ref, res, 'iris (whole graph over Kafka)');
    assert.equal((await calls()) - before, 1, 'one call over the node bus for three nodes');
    const first = [`${prefix}.iris.standardize.inputs`, `${prefix}.iris.standardize.outputs`];
    const others = ['classifier', 'species'].flatMap((n) => [`${prefix}.iris.${n}.inputs`, `${prefix}.iris.${n}.outputs`]);
    // Read on for a second after the call and answer: no record of this request on the other nodes' topics.
    const seen = await recordHeaders([...first, ...others], (key) => key === id, (s) => first.every((t) => s.has(t)), 1000);
    const [call] = seen.get(first[0] as string) ?? [];
    const [answer] = seen.get(first[1] as string) ?? [];
    assert.equal(call?.['x-infergraph-whole-graph'], '1');
    assert.equal(answer?.['x-infergraph-call'], call?.['x-infergraph-call'], 'the answer carries the call id');
    assert.equal(answer?.['x-error'], undefined, 'the worker ran it (not declined)');
    assert.deepEqual(others.filter((t) => seen.has(t)), []);
  });

  it('reads a call record\'s deadline header on the worker: one that passed is answered DEADLINE_EXCEEDED without running, one that is not a number leaves the node limit', async () => {
    const topics = { inputs: `${prefix}.iris-per-node.standardize.inputs`, outputs: `${prefix}.iris-per-node.standardize.outputs` };
    const run = randomUUID().slice(0, 8);
    const deadlines = { late: String(Date.now() - 1000), garbled: 'soon', ahead: String(Date.now() + 60_000) } as const;
    const kafka = new Kafka({ clientId: 'infergraph-test-deadline', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const features = { name: 'features', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) };
      await producer.send({
        topic: topics.inputs,
        messages: Object.entries(deadlines).map(([name, deadline]) => ({
          key: `${name}-${run}`,
          value: encodeInferRequestProto(encodeNodeCall('iris-per-node.standardize', `${name}-${run}`, {}, [features])),
          headers: { 'content-type': 'application/x-protobuf', 'x-infergraph-call': `${name}-${run}`, 'x-infergraph-deadline': deadline },
        })),
      });
    } finally {
      await producer.disconnect();
    }
    const keys = new Set(Object.keys(deadlines).map((name) => `${name}-${run}`));
    const seen = await recordHeaders([topics.outputs], (key) => key !== undefined && keys.has(key), (s) => (s.get(topics.outputs)?.length ?? 0) >= keys.size);
    const answer = (name: string): TextHeaders | undefined => seen.get(topics.outputs)?.find((h) => h['x-infergraph-call'] === `${name}-${run}`);
    assert.equal(answer('late')?.['x-error-code'], 'DEADLINE_EXCEEDED', JSON.stringify(answer('late')));
    assert.match(answer('late')?.['x-error'] ?? '', /node "standardize" of graph "iris-per-node": the request's deadline passed before the node ran/);
    for (const name of ['garbled', 'ahead']) assert.equal(answer(name)?.['x-error'], undefined, `${name}: answered with outputs (${JSON.stringify(answer(name))})`);
  });
});

describe('Kafka-connected chain graphs with a controller: whole on a worker that holds every node, declined and node by node otherwise', { skip }, () => {
  const prefix = `w${randomUUID().slice(0, 8)}`;
  const kafkaEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, NODE_TRANSPORT: 'kafka' };
  const env = { GRAPHS_DIR: 'test/fixtures/graphs-whole' };
  let controller: RunningController;
  let workers: RunningWorker[] = [];
  let gateway: RunningGateway;
  let local: RunningGateway;
  const row = (data: number[]): object => ({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data }] });
  const ROWS = [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.1, 4.7, 1.5],
    [6.3, 3.3, 6.0, 2.5],
  ];

  before(async () => {
    controller = await startController(undefined, env);
    const worker = (id: string, pool: string): Promise<RunningWorker> =>
      startWorker({ ...kafkaEnv, CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: pool, WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
    // iris-together: both nodes on cpu-a; iris-apart: its model in the edge pool, so on edge-a.
    workers = await Promise.all([worker('cpu-a', 'cpu'), worker('edge-a', 'edge')]);
    [gateway, local] = await Promise.all([
      startGateway({ ...env, ...kafkaEnv, CONTROLLER: controller.control, KAFKA_GROUP_ID: `${prefix}-gw` }),
      startGateway({ ...env, KAFKA_BROKERS: '' }),
    ]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), local?.stop(), ...workers.map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  const busCalls = (): Promise<number> => busCallsOf(gateway);
  const same = async (graph: string, data: number[]): Promise<void> => {
    const [res, ref] = await Promise.all([request(gateway, 'POST', `/v2/models/${graph}/infer`, row(data)), request(local, 'POST', `/v2/models/${graph}/infer`, row(data))]);
    assertSameOutputs(ref, res, graph);
  };
  // Served once every node's replica consumes its topics (a call before that waits for its deadline).
  const untilServing = (graph: string): Promise<void> =>
    until(`graph "${graph}" answering over Kafka`, async () => (await request(gateway, 'POST', `/v2/models/${graph}/infer`, row(ROWS[0] as number[]))).status === 200, 90_000);

  it('runs iris-together whole on the worker holding both nodes: one record pair per request, the in-process outputs', async () => {
    await untilServing('iris-together');
    const before = await busCalls();
    for (const data of ROWS) await same('iris-together', data);
    assert.equal((await busCalls()) - before, ROWS.length);
  });

  it('runs iris-apart node by node after the worker holding its first node declined the whole-graph call, with the in-process outputs', async () => {
    await untilServing('iris-apart');
    // The decline is on the record: an answer on the first node's outputs topic saying so.
    const outputs = `${prefix}.iris-apart.standardize.outputs`;
    const seen = await recordHeaders([outputs], (_key, h) => h['x-error-details']?.includes('declined') === true, (s) => s.has(outputs));
    const declined = seen.get(outputs)?.[0]?.['x-error'];
    assert.match(declined ?? '', /cannot run graph "iris-apart" whole: it holds no ready replica of node "classifier"/);
    // untilServing's own requests already met the decline: its requests now go node by node (2 calls each).
    const before = await busCalls();
    for (const data of ROWS) await same('iris-apart', data);
    assert.equal((await busCalls()) - before, 2 * ROWS.length);
  });
});

describe('Kafka-connected nodes: two versions of a graph side by side, each on node topics of its own', { skip }, () => {
  const prefix = `v${randomUUID().slice(0, 8)}`;
  const kafkaEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, NODE_TRANSPORT: 'kafka' };
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-kafka-versions-'));
  let worker: RunningWorker;
  let gw: RunningGateway;

  before(async () => {
    for (const version of ['1', '2']) writeFileSync(path.join(dir, `pair-${version}.yaml`), pairVersionYaml(version));
    worker = await startWorker({ GRAPHS_DIR: dir, ...kafkaEnv });
    gw = await startGateway({ GRAPHS_DIR: dir, ...kafkaEnv, KAFKA_GROUP_ID: `${prefix}-gw` });
  });
  after(async () => {
    await Promise.all([gw?.stop(), worker?.kill()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each version with its own outputs through its own node topics', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [5] }] };
    for (const version of ['1', '2']) {
      const res = await request(gw, 'POST', `/v2/models/pair/versions/${version}/infer`, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const answer = res.body as { model_version: string; outputs: { data: number[] }[] };
      assert.deepEqual([answer.model_version, answer.outputs[0]?.data[0]], [version, 5 - Number(version)]);
    }
    const kafka = (await request(gw, 'GET', '/v1/kafka')).body as { nodeCalls: { subscribed: string[] } };
    assert.deepEqual(
      kafka.nodeCalls.subscribed.filter((t) => t.startsWith(`${prefix}.`)),
      [`${prefix}.pair.shift.outputs`, `${prefix}.pair_v2.shift.outputs`],
    );
  });
});

describe('Kafka-connected nodes without a consumer', { skip }, () => {
  let gw: RunningGateway;
  let noBrokers: RunningGateway;
  let mismatched: RunningGateway;
  const clashPrefix = `m${randomUUID().slice(0, 8)}`;

  before(async () => {
    const prefix = `e${randomUUID().slice(0, 8)}`;
    // A topic someone created with another partition count than the graph declares.
    const admin = new Kafka({ clientId: 'infergraph-test-clash', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${clashPrefix}.iris-slow-lane.classifier.inputs`, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    [gw, noBrokers, mismatched] = await Promise.all([
      startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-kafka', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix }),
      startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-kafka', KAFKA_BROKERS: '' }, { waitReady: false }),
      startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-kafka', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: clashPrefix }),
    ]);
  });
  after(async () => {
    await Promise.all([gw?.stop(), noBrokers?.stop(), mismatched?.stop()]);
  });

  it('refuses a node topic whose partition count differs from the graph, naming topic and counts (503)', async () => {
    const body = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
    const res = await request(mismatched, 'POST', '/v2/models/iris-slow-lane/infer', body);
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, new RegExp(`topic ${clashPrefix}\\.iris-slow-lane\\.classifier\\.inputs has 1 partitions but graph "iris-slow-lane" \\(spec\\.kafka\\.partitions\\) declares 3`));
  });

  it('answers 504 naming the topic nobody answered on, and keeps serving', async () => {
    const body = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
    const res = await request(gw, 'POST', '/v2/models/iris-slow-lane/infer', body);
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, /standardize/);
    assert.match((res.body as { error: string }).error, /iris-slow-lane\.standardize\.(outputs|inputs)/);
    assert.equal((await request(gw, 'GET', '/v2/health/live')).status, 200);
  });

  it('fails to load a spec.transport: kafka graph on a gateway without KAFKA_BROKERS, saying why', async () => {
    await until('the graph load to settle', async () => ((await request(noBrokers, 'GET', '/v1/graphs')).body as { graphs: { state: string }[] }).graphs.every((g) => g.state !== 'loading'), 30_000);
    const graphs = ((await request(noBrokers, 'GET', '/v1/graphs')).body as { graphs: { name: string; file?: string; state: string; error?: string }[] }).graphs;
    const g = graphs.find((x) => x.file?.endsWith('iris-slow-lane.yaml') ?? false) ?? graphs[0];
    assert.equal(g?.state, 'failed');
    assert.match(g?.error ?? '', /spec\.transport: kafka: this gateway has no KAFKA_BROKERS/);
  });
});

// Twice: with the default producer (a record leaves as soon as the previous send is acknowledged), and with a
// 20 ms linger on the gateway and the worker, so the killed worker holds more answers it never sent.
// kill: the worker dies (-9) and a new one starts a second later. freeze: the worker is stopped (SIGSTOP) for
// 10 s, longer than its 6 s session timeout, so the group drops it while it still holds records and answers
// in flight, and is resumed (SIGCONT): it finds itself out of the group and re-joins, and its late answers and
// commits of the old generation must lose no request.
const faults: readonly { readonly fault: 'kill' | 'freeze'; readonly lingerMs: number | undefined }[] = [
  { fault: 'kill', lingerMs: undefined },
  { fault: 'kill', lingerMs: 20 },
  { fault: 'freeze', lingerMs: undefined },
];
for (const { fault, lingerMs } of faults) {
  const what = fault === 'kill' ? 'kill -9 a worker mid-stream' : 'a worker frozen (SIGSTOP) mid-stream for 10 s, then resumed';
  describe(`Kafka-connected graph under load: ${what}${lingerMs === undefined ? '' : ` (KAFKA_LINGER_MS=${lingerMs})`}`, { skip }, () => {
    const prefix = `k${randomUUID().slice(0, 8)}`;
    const topics = { inputs: `${prefix}.iris-pipeline.inputs`, outputs: `${prefix}.iris-pipeline.outputs`, errors: `${prefix}.iris-pipeline.errors` };
    const kafka = new Kafka({ clientId: 'infergraph-test-kill', brokers, logLevel: logLevel.NOTHING });
    const linger: Record<string, string> = lingerMs === undefined ? {} : { KAFKA_LINGER_MS: String(lingerMs) };
    const workerEnv = { GRAPHS_DIR: 'graphs/kafka', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_SESSION_TIMEOUT_MS: '6000', ...linger };
    const MAX_IN_FLIGHT = 200;
    let worker: RunningWorker;
    let gw: RunningGateway;
    let producer: Producer;
    let consumer: Consumer;
    const answered = new Map<string, number>();
    const failed = new Map<string, string>();

    before(async () => {
      worker = await startWorker(workerEnv);
      gw = await startGateway({
        GRAPHS_DIR: 'graphs/kafka',
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: `${prefix}-gw`,
        KAFKA_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        ...linger,
      });
      await untilStreaming(gw, topics.inputs);
      ({ producer, consumer } = await produceAndConsume(kafka, `${prefix}-test`, [topics.outputs, topics.errors], (topic, message) => {
        const id = message.headers?.['x-request-id']?.toString() ?? (JSON.parse(message.value?.toString() ?? '{}') as { id?: string }).id ?? '';
        if (topic === topics.outputs) answered.set(id, (answered.get(id) ?? 0) + 1);
        else failed.set(id, message.headers?.['x-error']?.toString() ?? '');
      }));
    });
    after(async () => {
      await consumer?.disconnect();
      await producer?.disconnect();
      await gw?.stop();
      await worker?.kill();
    });

    it(`answers every one of 10,000 requests (outputs or errors, none lost) across ${fault === 'kill' ? 'a worker kill -9 and restart' : 'the freeze and the resume'}, with reading paused at the in-flight limit`, async () => {
      const rows = goldenRows('iris-logreg');
      const total = 10_000;
      const sending = (async () => {
        for (let i = 0; i < total; i += 500) {
          const messages = Array.from({ length: Math.min(500, total - i) }, (_, k) => ({
            key: `user-${(i + k) % 97}`,
            value: JSON.stringify({ id: `r-${i + k}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[(i + k) % rows.length] }] }),
            headers: { 'x-request-id': `r-${i + k}` },
          }));
          await producer.send({ topic: topics.inputs, messages });
        }
      })();
      const seen = (): number => new Set([...answered.keys(), ...failed.keys()]).size;
      await until('2,000 answers before the kill', () => seen() >= 2000, 120_000, () => `(answered ${answered.size}, failed ${failed.size})`);
      const atKill = seen();
      if (fault === 'kill') {
        await worker.kill();
        await new Promise((r) => setTimeout(r, 1000));
        worker = await startWorker(workerEnv);
      } else {
        worker.process.kill('SIGSTOP');
        try {
          await new Promise((r) => setTimeout(r, 10_000));
        } finally {
          worker.process.kill('SIGCONT');
        }
      }
      await sending;
      await until(
        `all ${total} request ids in outputs or errors`,
        () => seen() >= total,
        240_000,
        () => `(answered ${answered.size}, failed ${failed.size}; ${gw.output().slice(-2000)})`,
      );
      const ids = new Set([...answered.keys(), ...failed.keys()]);
      const lost = Array.from({ length: total }, (_, i) => `r-${i}`).filter((id) => !ids.has(id));
      const duplicates = [...answered.values()].reduce((n, c) => n + c - 1, 0);
      const status = (await request(gw, 'GET', '/v1/kafka')).body as {
        streamThread: boolean | null;
        stream: { peakInFlight: number; maxInFlight: number; pauses: number };
        nodeCalls: { lateOrDuplicate: number };
      };
      console.log(
        `[kafka] ${fault === 'kill' ? 'kill -9' : 'SIGSTOP 10 s + SIGCONT'}${lingerMs === undefined ? '' : `, linger ${lingerMs} ms`}: ${answered.size} answered, ${failed.size} in errors, ${lost.length} lost, ${duplicates} duplicate outputs; killed at ${atKill}; ` +
          `peak in flight ${status.stream.peakInFlight}/${status.stream.maxInFlight}, ${status.stream.pauses} pauses, ${status.nodeCalls.lateOrDuplicate} late node answers`,
      );
      assert.deepEqual(lost, []);
      // KAFKA_STREAM_THREAD=auto: this graph calls its nodes over Kafka, so its stream shares the event loop.
      assert.equal(status.streamThread, false);
      assert.ok(answered.size > total / 2, `most requests answered (${answered.size}); errors: ${[...new Set(failed.values())].slice(0, 3).join(' | ')}`);
      assert.ok(status.stream.peakInFlight <= MAX_IN_FLIGHT, `in flight ${status.stream.peakInFlight} > ${MAX_IN_FLIGHT}`);
      assert.ok(status.stream.pauses > 0, 'reading paused at the in-flight limit');
    });
  });
}
