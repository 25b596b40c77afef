// Kafka benchmark (`npm run bench -- kafka`): side by side in one run, at 1 and 3 partitions, on one broker:
//   - the ceiling: a bare kafkajs consume -> produce pass-through (bench/support/kafka-relay.runner.ts, a
//     process of its own, one hop, no inference);
//   - the same pass-through with @platformatic/kafka (kafka-relay-platformatic.runner.ts): the client choice;
//   - graph-topic streaming of a one-node graph (bench/graphs/iris-model), of the same with dynamic batching
//     (bench/graphs/iris-model-batched: the records in flight share onnxruntime runs) and of graphs/iris.yaml
//     (gateway process consuming <prefix>.<graph>.inputs, producing .outputs);
//   - the Kafka-connected three-node graph graphs/kafka/iris-pipeline.yaml (gateway + one worker process):
//     as shipped, the worker holds every node, so each request crosses once (a whole-graph call: one record
//     on the first node's inputs topic, its answer on that node's outputs, 4 topic hops per request); and
//     with `nodeCalls: node` (pipeline-per-node), every node call through its own topics (8 hops).
// Per row: records/s, end-to-end latency p50/p99 per record (the input record's timestamp, set when it is
// produced, to the output record's timestamp), CPU per record of the relay/gateway, of the worker and of this
// process (the load generator: producer and sink, which share the two cores with the rest), peak RSS.
// Each row first sends BENCH_KAFKA_WARMUP records (2000; 0: none) untimed, so that the timed phase measures
// compiled code in every process, not a just-started one's first records.
// Records are produced as fast as the broker takes them, so that latency includes the backlog's queueing.
// Then, on the same processes, a paced phase: BENCH_KAFKA_PACED_RATE records/s (500) for BENCH_KAFKA_PACED_S
// seconds (5; 0 leaves it out), each record's latency from when it was sent, not from a backlog: what one
// record waits at a steady load the processes keep up with.
// PASS/MISS lines for issue 19's targets: graph-topic streaming >= 0.6x and Kafka-connected >= 0.25x the ceiling.
// Env: KAFKA_BROKERS (else a broker on free ports is started and stopped), BENCH_KAFKA_RECORDS (5000),
// BENCH_KAFKA_ROUNDS (1; best of), BENCH_KAFKA_PARTITIONS ("1,3"), BENCH_KAFKA_SCENARIOS (all; comma list of
// bare,bare-platformatic,one-node,one-node-batched,iris,pipeline,pipeline-per-node), BENCH_CPU_PROF (a directory: gateways and workers write CPU profiles into <dir>/<process>/, the main thread's with thread id 0),
// BENCH_KAFKA_BACKLOG (records; off by default): one more row, the gateway started on a backlog of that many
// iris requests already in the inputs topic (3 partitions), its RSS sampled while it works through them.
// Writes bench/results/kafka-pipeline.json.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { brokerScript, startFreePortBroker } from '../test/support/kafka-broker';
import { repoPath } from '../test/support/repo';
import { percentile } from './support/percentile';
import { ProcessGroup, cpuSeconds, peakRssMiB, type TrackedProcess } from './support/process-group';
import { cpuProfileArgs, startGatewayProcess, startWorkerProcess } from './support/servers.launcher';

const RECORDS = Number(process.env['BENCH_KAFKA_RECORDS'] ?? 5000);
const ROUNDS = Number(process.env['BENCH_KAFKA_ROUNDS'] ?? 1);
const PARTITIONS = (process.env['BENCH_KAFKA_PARTITIONS'] ?? '1,3').split(',').map(Number);
const CPU_PROF = process.env['BENCH_CPU_PROF'];
const log = (m: string): void => console.log(`[bench:kafka] ${m}`);

type ScenarioName = 'bare' | 'bare-platformatic' | 'one-node' | 'one-node-batched' | 'iris' | 'pipeline' | 'pipeline-per-node';
interface Scenario {
  readonly name: ScenarioName;
  readonly label: string;
  /** The graph file (repository-relative) and its name; none for the bare pass-through. */
  readonly graph?: { readonly file: string; readonly name: string; readonly input: string; readonly worker: boolean; readonly nodeCalls?: 'node' };
  /** A pass-through's runner in bench/support (default: the kafkajs relay, the ceiling). */
  readonly relay?: string;
  /** The share of the ceiling issue 19 asks for. */
  readonly target?: number;
}
const SCENARIOS: readonly Scenario[] = [
  { name: 'bare', label: 'bare kafkajs pass-through (ceiling)' },
  { name: 'bare-platformatic', label: 'bare @platformatic/kafka pass-through (client choice)', relay: 'kafka-relay-platformatic.runner.js' },
  { name: 'one-node', label: 'graph topics, one-node graph (iris-model)', graph: { file: 'bench/graphs/iris-model/iris-model.yaml', name: 'iris-model', input: 'input', worker: false }, target: 0.6 },
  {
    name: 'one-node-batched',
    label: 'graph topics, one-node graph with model.batching (iris-model-batched)',
    graph: { file: 'bench/graphs/iris-model-batched/iris-model-batched.yaml', name: 'iris-model-batched', input: 'input', worker: false },
  },
  { name: 'iris', label: 'graph topics, graphs/iris.yaml (3 nodes in-process)', graph: { file: 'graphs/iris.yaml', name: 'iris', input: 'features', worker: false }, target: 0.6 },
  { name: 'pipeline', label: 'Kafka-connected 3-node graph (graphs/kafka)', graph: { file: 'graphs/kafka/iris-pipeline.yaml', name: 'iris-pipeline', input: 'features', worker: true }, target: 0.25 },
  {
    name: 'pipeline-per-node',
    label: 'Kafka-connected 3-node graph, nodeCalls: node (every step on its topics)',
    graph: { file: 'graphs/kafka/iris-pipeline.yaml', name: 'iris-pipeline', input: 'features', worker: true, nodeCalls: 'node' },
  },
];
const ONLY = (process.env['BENCH_KAFKA_SCENARIOS'] ?? '').split(',').filter((s) => s !== '');
const BACKLOG = Number(process.env['BENCH_KAFKA_BACKLOG'] ?? 0);
const PACED_RATE = Number(process.env['BENCH_KAFKA_PACED_RATE'] ?? 500);
const PACED_S = Number(process.env['BENCH_KAFKA_PACED_S'] ?? 5);
const WARMUP = Number(process.env['BENCH_KAFKA_WARMUP'] ?? 2000);

interface Row {
  scenario: ScenarioName;
  partitions: number;
  recordsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU per record of the relay or gateway, and of the worker (NaN without one), in microseconds. */
  serverCpuUsPerRecord: number;
  workerCpuUsPerRecord: number;
  /** CPU per record of this bench process, the load generator (its producer and its sink), in microseconds. */
  clientCpuUsPerRecord: number;
  peakRssMiB: number;
  /** The paced phase: latency of records sent at PACED_RATE, and how many of them came back. */
  paced?: PacedLatency;
}

interface PacedLatency {
  sent: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function brokerList(): { brokers: string[]; started: boolean } {
  const given = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  if (given.length > 0) return { brokers: given, started: false };
  log('starting a broker on free ports (scripts/kafka/broker.mjs start --free-port)…');
  return { brokers: [startFreePortBroker()], started: true };
}

function payloads(input: string): { key: string; value: string; id: string }[] {
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.2, 2.9, 4.3, 1.3],
    [7.7, 3.0, 6.1, 2.3],
  ];
  return Array.from({ length: RECORDS }, (_, i) => ({
    key: `user-${i % 97}`,
    id: `b-${i}`,
    value: JSON.stringify({ id: `b-${i}`, inputs: [{ name: input, shape: [1, 4], datatype: 'FP32', data: rows[i % rows.length] }] }),
  }));
}

/**
 * A copy of a graph file with `spec.kafka` set to this run's partitions, written where relative model URIs
 * still resolve (bench/results/kafka-graphs/<dir>/, the depth of bench/graphs/<dir>/).
 */
function graphCopy(file: string, dir: string, partitions: number, nodeCalls?: 'node'): string {
  const target = repoPath('bench', 'results', 'kafka-graphs', dir);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const from = path.dirname(repoPath(file));
  let text = readFileSync(repoPath(file), 'utf8').replace(/uri: (\.\.\/\S+?)([,}\s])/g, (_, uri: string, end: string) => `uri: ${path.relative(target, path.resolve(from, uri))}${end}`);
  const kafka = `kafka: {prefix: infergraph, partitions: ${partitions}}`;
  text = /^ {2}kafka: .*$/m.test(text) ? text.replace(/^ {2}kafka: .*$/m, `  ${kafka}`) : text.replace(/^spec:\n/m, `spec:\n  ${kafka}\n`);
  if (nodeCalls !== undefined) text = text.replace(/^spec:\n/m, `spec:\n  nodeCalls: ${nodeCalls}\n`);
  writeFileSync(path.join(target, path.basename(file)), text);
  return path.relative(repoPath(), target);
}

/**
 * A consumer of `sink` in a group of its own, joined when this resolves: each output whose x-request-id is in
 * `sentAt` adds its latency (output timestamp minus send time); `counted` hears the count after each batch.
 */
async function latencySink(kafka: Kafka, sink: string, group: string, fromBeginning: boolean, counted: (n: number) => void = () => undefined): Promise<{ consumer: Consumer; sentAt: Map<string, number>; latencies: number[] }> {
  const consumer: Consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [sink], fromBeginning });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const id = m.headers?.['x-request-id']?.toString();
        const at = id === undefined ? undefined : sentAt.get(id);
        if (at !== undefined) latencies.push(Number(m.timestamp) - at);
      }
      counted(latencies.length);
      await Promise.resolve();
    },
  });
  await new Promise((r) => setTimeout(r, 2000)); // let the sink join (a sink reading from the end misses what comes before)
  return { consumer, sentAt, latencies };
}

/** Produces the records (batches of 500, acks=all), waits until all reached `sink`; measures the watched processes. */
async function timeThrough(kafka: Kafka, input: string, inputName: string, sink: string, group: string, watched: { server?: number; worker?: number }): Promise<Omit<Row, 'scenario' | 'partitions'>> {
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  const { consumer, sentAt, latencies } = await latencySink(kafka, sink, group, true, (n) => {
    if (n >= RECORDS) done();
  });
  const producer = kafka.producer();
  await producer.connect();
  const messages = payloads(inputName);
  const cpu0 = { server: cpuSeconds(watched.server), worker: cpuSeconds(watched.worker), client: process.cpuUsage() };
  const started = performance.now();
  for (let i = 0; i < messages.length; i += 500) {
    const now = Date.now();
    const chunk = messages.slice(i, i + 500).map((m) => {
      sentAt.set(m.id, now);
      return { key: m.key, value: m.value, timestamp: String(now), headers: { 'x-request-id': m.id } };
    });
    await producer.send({ topic: input, acks: -1, messages: chunk });
  }
  await all;
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(cpu0.client);
  const perRecordUs = (pid: number | undefined, before: number): number => ((cpuSeconds(pid) - before) * 1e6) / RECORDS;
  const result = {
    recordsPerS: RECORDS / seconds,
    p50Ms: percentile([...latencies].sort((a, b) => a - b), 50),
    p99Ms: percentile([...latencies].sort((a, b) => a - b), 99),
    serverCpuUsPerRecord: perRecordUs(watched.server, cpu0.server),
    workerCpuUsPerRecord: perRecordUs(watched.worker, cpu0.worker),
    clientCpuUsPerRecord: (client.user + client.system) / RECORDS,
    peakRssMiB: peakRssMiB(watched.server) + (watched.worker === undefined ? 0 : peakRssMiB(watched.worker)),
  };
  await producer.disconnect();
  await consumer.disconnect();
  return result;
}

/**
 * Untimed: WARMUP records through the relay or gateway before the timed phase (a just-started process answers
 * its first records before its code is compiled), waiting until the output topic holds their answers.
 */
async function warmUp(kafka: Kafka, input: string, inputName: string, sink: string): Promise<void> {
  if (WARMUP <= 0) return;
  const producer = kafka.producer();
  await producer.connect();
  const messages = payloads(inputName)
    .slice(0, WARMUP)
    .map((m) => ({ key: m.key, value: m.value.replace(/"id":"b-/, '"id":"warm-'), headers: { 'x-request-id': m.id.replace(/^b-/, 'warm-') } }));
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: input, acks: -1, messages: messages.slice(i, i + 500) });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const answered = (await admin.fetchTopicOffsets(sink)).reduce((n, o) => n + Number(o.high), 0);
      if (answered >= messages.length) return;
      if (Date.now() > deadline) throw new Error(`warm-up: ${answered} of ${messages.length} records answered on ${sink} after 60 s`);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends PACED_RATE records a second for PACED_S seconds without waiting for earlier sends (a late answer
 * never delays the next send), and measures each record from the time it was sent to its output's timestamp.
 */
async function pacedThrough(kafka: Kafka, input: string, inputName: string, sink: string, group: string): Promise<PacedLatency> {
  const { consumer, sentAt, latencies } = await latencySink(kafka, sink, group, false);
  const producer = kafka.producer();
  await producer.connect();
  const templates = payloads(inputName);
  const total = Math.round(PACED_RATE * PACED_S);
  const sends: Promise<unknown>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * PACED_RATE) / 1000));
    if (due > sent) {
      const now = Date.now();
      const messages = [];
      for (; sent < due; sent++) {
        const t = templates[sent % templates.length] ?? { key: 'k', value: '' };
        const id = `paced-${sent}`;
        sentAt.set(id, now);
        messages.push({ key: t.key, value: t.value.replace(/"id":"[^"]*"/, `"id":"${id}"`), timestamp: String(now), headers: { 'x-request-id': id } });
      }
      sends.push(producer.send({ topic: input, acks: -1, messages }));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(sends);
  for (const deadline = Date.now() + 30_000; latencies.length < total && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
  await producer.disconnect();
  await consumer.disconnect();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { sent: total, answered: latencies.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? Number.NaN };
}

async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })), waitForLeaders: true });
  await admin.disconnect();
}

async function runScenario(group: ProcessGroup, kafka: Kafka, brokers: string[], s: Scenario, partitions: number): Promise<Omit<Row, 'scenario' | 'partitions'>> {
  const run = `bench${randomUUID().slice(0, 6)}`;
  const children: TrackedProcess[] = [];
  try {
    if (s.graph === undefined) {
      const [a, b] = [`${run}.raw.in`, `${run}.raw.out`];
      await createTopics(kafka, [a, b], partitions);
      const relay = group.spawn('relay', process.execPath, [path.join(__dirname, 'support', s.relay ?? 'kafka-relay.runner.js'), brokers.join(','), a, b, `${run}.relay`, String(partitions)], { cwd: repoPath() });
      children.push(relay);
      await relay.waitFor(/relaying/, 60_000);
      await warmUp(kafka, a, 'features', b);
      const row = await timeThrough(kafka, a, 'features', b, `${run}.sink`, { server: relay.child.pid });
      return PACED_S > 0 ? { ...row, paced: await pacedThrough(kafka, a, 'features', b, `${run}.paced`) } : row;
    }
    const dir = graphCopy(s.graph.file, `${s.name}-p${partitions}`, partitions, s.graph.nodeCalls);
    const env = { GRAPHS_DIR: dir, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: run, KAFKA_GROUP_ID: `${run}.gw`, LOG_LEVEL: 'info' };
    let worker: TrackedProcess | undefined;
    if (s.graph.worker) {
      worker = (await startWorkerProcess(group, env, cpuProfileArgs(CPU_PROF, `kafka.${s.name}.p${partitions}.worker`))).process;
      children.push(worker);
    }
    const gw = (await startGatewayProcess(group, env, cpuProfileArgs(CPU_PROF, `kafka.${s.name}.p${partitions}.gateway`))).process;
    children.push(gw);
    const inputs = `${run}.${s.graph.name}.inputs`;
    await gw.waitFor(new RegExp(`streaming ${inputs.replace(/\./g, '\\.')}`), 60_000);
    if (s.graph.worker) await gw.waitFor(/awaiting node outputs on/, 60_000);
    const outputs = `${run}.${s.graph.name}.outputs`;
    await warmUp(kafka, inputs, s.graph.input, outputs);
    const row = await timeThrough(kafka, inputs, s.graph.input, outputs, `${run}.sink`, { server: gw.child.pid, worker: worker?.child.pid });
    return PACED_S > 0 ? { ...row, paced: await pacedThrough(kafka, inputs, s.graph.input, outputs, `${run}.paced`) } : row;
  } finally {
    for (const c of children.reverse()) await group.stop(c.child);
  }
}

/** VmRSS of a live process in MiB. */
function rssMiB(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid ?? 0}/status`, 'utf8'));
    return m?.[1] === undefined ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

interface BacklogRow {
  records: number;
  recordsPerS: number;
  /** Gateway RSS when a quarter, half, three quarters and all of the backlog were answered. */
  rssAtQuartersMiB: number[];
  peakRssMiB: number;
  peakInFlight: number;
  maxInFlight: number;
  pauses: number;
}

/** item 5: memory stays bounded while the gateway works through a backlog (reading pauses at the in-flight limit). */
async function backlog(group: ProcessGroup, kafka: Kafka, brokers: string[], records: number): Promise<BacklogRow> {
  const run = `bench${randomUUID().slice(0, 6)}`;
  const dir = graphCopy('graphs/iris.yaml', 'backlog-p3', 3);
  const [inputs, outputs] = [`${run}.iris.inputs`, `${run}.iris.outputs`];
  await createTopics(kafka, [inputs, outputs, `${run}.iris.errors`], 3);
  const producer = kafka.producer();
  await producer.connect();
  const one = payloads('features');
  log(`backlog: producing ${records} records before the gateway starts…`);
  for (let i = 0; i < records; i += 1000) {
    await producer.send({ topic: inputs, acks: -1, messages: Array.from({ length: Math.min(1000, records - i) }, (_, k) => one[(i + k) % one.length] ?? { key: 'k', value: '' }).map((m) => ({ key: m.key, value: m.value })) });
  }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const answered = async (): Promise<number> => (await admin.fetchTopicOffsets(outputs)).reduce((n, o) => n + Number(o.high), 0);
  const gw = await startGatewayProcess(group, { GRAPHS_DIR: dir, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: run, KAFKA_GROUP_ID: `${run}.gw`, LOG_LEVEL: 'info' });
  const pid = gw.process.child.pid;
  const quarters: number[] = [];
  const started = performance.now();
  try {
    for (;;) {
      const n = await answered();
      while (quarters.length < 4 && n >= (records * (quarters.length + 1)) / 4) quarters.push(rssMiB(pid));
      if (n >= records) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (performance.now() - started) / 1000;
    const status = (await (await fetch(`${gw.baseUrl}/v1/kafka`)).json()) as { stream: { peakInFlight: number; maxInFlight: number; pauses: number } };
    return { records, recordsPerS: records / seconds, rssAtQuartersMiB: quarters, peakRssMiB: peakRssMiB(pid), ...status.stream };
  } finally {
    await admin.disconnect();
    await group.stop(gw.process.child);
  }
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

async function main(): Promise<void> {
  const { brokers, started } = brokerList();
  const kafka = new Kafka({ clientId: 'infergraph-bench', brokers, logLevel: logLevel.NOTHING });
  const group = new ProcessGroup();
  const scenarios = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.includes(s.name) || s.name === 'bare');
  const rows: Row[] = [];
  let backlogRow: BacklogRow | undefined;
  const load = { before: loadavg()[0] ?? Number.NaN, after: Number.NaN };
  try {
    for (const partitions of PARTITIONS) {
      for (const s of scenarios) {
        let best: Row | undefined;
        for (let round = 1; round <= ROUNDS; round++) {
          log(`${partitions} partition(s), ${s.label}: ${RECORDS} records (round ${round}/${ROUNDS})…`);
          const r = { scenario: s.name, partitions, ...(await runScenario(group, kafka, brokers, s, partitions)) };
          if (best === undefined || r.recordsPerS > best.recordsPerS) best = r;
        }
        if (best !== undefined) rows.push(best);
      }
    }
    if (BACKLOG > 0) backlogRow = await backlog(group, kafka, brokers, BACKLOG);
  } finally {
    await group.stopAll();
    if (started) brokerScript('stop', '--port', brokers[0]?.split(':')[1] ?? '');
  }
  load.after = loadavg()[0] ?? Number.NaN;
  const ceiling = (p: number): number => rows.find((r) => r.scenario === 'bare' && r.partitions === p)?.recordsPerS ?? Number.NaN;
  console.log('');
  console.log(`${RECORDS} records per row (best of ${ROUNDS}); load average (1 min) ${fmt(load.before, 2)} before, ${fmt(load.after, 2)} after`);
  console.log('| scenario | partitions | records/s | × ceiling | p50 ms | p99 ms | gateway/relay CPU µs/record | worker CPU µs/record | bench client CPU µs/record | peak RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const s = SCENARIOS.find((x) => x.name === r.scenario);
    console.log(`| ${s?.label ?? r.scenario} | ${r.partitions} | ${fmt(r.recordsPerS)} | ${fmt(r.recordsPerS / ceiling(r.partitions), 2)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.serverCpuUsPerRecord)} | ${fmt(r.workerCpuUsPerRecord)} | ${fmt(r.clientCpuUsPerRecord)} | ${fmt(r.peakRssMiB)} |`);
  }
  if (PACED_S > 0) {
    console.log('');
    console.log(`Paced: ${fmt(PACED_RATE)} records/s for ${fmt(PACED_S)} s on the same processes after each row; latency from each record's send`);
    console.log('| scenario | partitions | answered | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) {
      const s = SCENARIOS.find((x) => x.name === r.scenario);
      const p = r.paced;
      if (p !== undefined) console.log(`| ${s?.label ?? r.scenario} | ${r.partitions} | ${fmt(p.answered)} of ${fmt(p.sent)} | ${fmt(p.p50Ms, 1)} | ${fmt(p.p99Ms, 1)} | ${fmt(p.maxMs, 1)} |`);
    }
  }
  console.log('');
  const checks = rows.flatMap((r) => {
    const target = SCENARIOS.find((x) => x.name === r.scenario)?.target;
    if (target === undefined) return [];
    const ratio = r.recordsPerS / ceiling(r.partitions);
    return [{ scenario: r.scenario, partitions: r.partitions, ratio, target, pass: ratio >= target }];
  });
  if (backlogRow !== undefined) {
    const b = backlogRow;
    console.log(
      `backlog of ${fmt(b.records)} iris records (3 partitions): ${fmt(b.recordsPerS)} records/s; gateway RSS at 25/50/75/100 % answered ${b.rssAtQuartersMiB.map((r) => fmt(r)).join(' / ')} MiB, peak ${fmt(b.peakRssMiB)} MiB; ` +
        `in flight at most ${b.peakInFlight}/${b.maxInFlight}, reading paused ${fmt(b.pauses)} times`,
    );
  }
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'MISS'} ${c.scenario} at ${c.partitions} partition(s): ${c.ratio.toFixed(2)}× the bare pass-through (target ≥ ${c.target}×)`);
  const out = repoPath('bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'kafka-pipeline.json'), `${JSON.stringify({ date: new Date().toISOString(), records: RECORDS, rounds: ROUNDS, paced: { rate: PACED_RATE, seconds: PACED_S }, load, rows, checks, backlog: backlogRow }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
