import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.process';
import { metricSample } from '../support/metrics';
import { childProcessesOf, processRuns } from '../support/processes';
import { until, waitFor } from '../support/wait';

// End to end, real processes: a gateway with SERVING_PROCESSES hands connections of its port to serving
// processes it started. Each test opens connections of its own (agent: false, or one keep-alive agent per
// client), so the turn-taking spreads them over the processes.

const OPS_TOKEN = 'ops-token-serving-processes-0123456789';
const IRIS = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * One request; `agent: false` gives it a connection of its own. Resolves with the answer or the socket error's
 * code, marked `reused` when the request went on a kept-alive connection that had answered before.
 */
function send(baseUrl: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}, agent: Agent | false = false): Promise<Answer | { error: string; reused?: boolean }> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = httpRequest(`${baseUrl}${route}`, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, reused: req.reusedSocket }));
    // A request left unanswered is a failure to count, not a test that hangs.
    req.setTimeout(15_000, () => req.destroy(Object.assign(new Error('no answer within 15 s'), { code: 'NO_ANSWER' })));
    req.end(payload);
  });
}

async function scrape(gw: RunningGateway): Promise<string> {
  const res = await send(gw.baseUrl, 'GET', '/metrics', undefined, { authorization: `Bearer ${OPS_TOKEN}` });
  assert.ok('status' in res && res.status === 200, `metrics: ${JSON.stringify(res)}`);
  return res.text;
}

/** The serving processes of the gateway `pid` (esbuild's service is a child of it too). */
const childrenOf = (pid: number): number[] => childProcessesOf(pid, /apps\/gateway\/src\/main\.js/);

interface LoadRecord {
  readonly at: number;
  readonly outcome: string;
}

/** `clients` loops, each on a keep-alive connection of its own, sending iris requests back to back until stopped. */
function constantLoad(baseUrl: string, clients: number): { stop: () => Promise<LoadRecord[]> } {
  const records: LoadRecord[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const res = await send(baseUrl, 'POST', '/v2/models/iris/infer', IRIS, {}, agent);
      // A reset of a connection never answered on may be one the kernel queued for a port that then closed
      // (never accepted, like a refusal); on a connection that answered before, it is a request lost.
      records.push({ at: performance.now(), outcome: 'status' in res ? String(res.status) : `${res.error}${res.reused === true ? ' (reused connection)' : ''}` });
      // A refused connection: the port is closed; wait a little instead of spinning.
      if ('error' in res && res.error === 'ECONNREFUSED') await new Promise((r) => setTimeout(r, 50));
    }
    agent.destroy();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return records;
    },
  };
}

describe('serving processes (SERVING_PROCESSES)', () => {
  describe('three processes on the example graphs', () => {
    let gw: RunningGateway;
    before(async () => {
      gw = await startGateway({ GRAPHS_DIR: 'graphs', SERVING_PROCESSES: '3', OPS_TOKEN }, { timeoutMs: 90_000 });
    });
    after(async () => {
      await gw.stop();
    });

    it('answers on every process with the same outputs, and one scrape sums every process', async () => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => send(gw.baseUrl, 'POST', '/v2/models/iris/infer', IRIS)));
      const outputs = answers.map((a) => {
        assert.ok('status' in a && a.status === 200, JSON.stringify(a));
        return JSON.stringify((JSON.parse(a.text) as { outputs: unknown }).outputs);
      });
      assert.equal(new Set(outputs).size, 1, 'every process gives the same outputs');
      const metrics = await scrape(gw);
      for (const p of ['0', '1', '2']) assert.ok(metricSample(metrics, 'infergraph_serving_connections_total', { process: p }) >= 3, `process ${p} took connections:\n${metrics}`);
      assert.equal(metricSample(metrics, 'infergraph_serving_processes_ready'), 2);
      // The serving processes answered two thirds of the requests; their counts are in the one scrape.
      assert.equal(metricSample(metrics, 'infergraph_graph_requests_total', { graph: 'iris', code: 'OK' }), 12);
    });

    it('passes operator routes to the gateway from every connection, with their authentication', async () => {
      const listed = await Promise.all(Array.from({ length: 6 }, () => send(gw.baseUrl, 'GET', '/v1/graphs', undefined, { authorization: `Bearer ${OPS_TOKEN}` })));
      const bodies = listed.map((a) => {
        assert.ok('status' in a && a.status === 200, JSON.stringify(a));
        return (JSON.parse(a.text) as { graphs: { name: string }[] }).graphs.map((g) => g.name).join(',');
      });
      assert.equal(new Set(bodies).size, 1);
      assert.match(bodies[0] ?? '', /iris-monitored/);
      const refused = await Promise.all(Array.from({ length: 6 }, () => send(gw.baseUrl, 'GET', '/v1/graphs')));
      for (const r of refused) assert.ok('status' in r && r.status === 401, `without the token: ${JSON.stringify(r)}`);
    });

    it("leaves a graph with detectors to the gateway: its drift window sees every request, whichever connection brought it", async () => {
      // iris-monitored's drift window is 50 rows: it completes only if all 50 one-row requests reach one process.
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(gw.baseUrl, 'POST', '/v2/models/iris-monitored/infer', IRIS)));
      for (const a of answers) assert.ok('status' in a && a.status === 200, JSON.stringify(a));
      await waitFor(
        'the drift window of 50 to complete in the gateway',
        async () => {
          const res = await send(gw.baseUrl, 'GET', '/v1/graphs/iris-monitored/nodes/drift/drift', undefined, { authorization: `Bearer ${OPS_TOKEN}` });
          return 'status' in res ? (JSON.parse(res.text) as { windows_completed: number }).windows_completed : -1;
        },
        (n) => n === 1,
        15_000,
      );
    });
  });

  describe('graph files', () => {
    let dir: string;
    let gw: RunningGateway;
    const shift = (mean: number): string => `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: shift}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 1]}]
  nodes:
    - name: standardize
      type: transformer
      inputs: [graph.inputs.x]
      transformer:
        steps: [{op: standardize, tensor: x, mean: [${mean}], std: [1]}]
  outputs: [standardize.outputs.x]
`;
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'infergraph-serving-'));
      writeFileSync(path.join(dir, 'shift.yaml'), shift(0));
      gw = await startGateway({ GRAPHS_DIR: dir, GRAPHS_SCAN_MS: '300', SERVING_PROCESSES: '2' }, { timeoutMs: 90_000 });
    });
    after(async () => {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers from the new file on every connection once the gateway reloaded it', async () => {
      const x = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [10] }] };
      const valueOf = async (): Promise<number[]> => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => send(gw.baseUrl, 'POST', '/v2/models/shift/infer', x)));
        return answers.map((a) => {
          assert.ok('status' in a && a.status === 200, JSON.stringify(a));
          return (JSON.parse(a.text) as { outputs: { data: number[] }[] }).outputs[0]?.data[0] ?? NaN;
        });
      };
      assert.deepEqual(await valueOf(), Array(8).fill(10));
      writeFileSync(path.join(dir, 'shift.yaml'), shift(4));
      // The gateway reloads the file (its watcher), lists the new hash, and the serving process loads it too;
      // meanwhile it passes the graph's requests to the gateway. No answer may mix: once new, always new.
      await waitFor('every connection to answer from the new file', valueOf, (values) => values.every((v) => v === 6), 20_000);
      for (let round = 0; round < 3; round++) assert.deepEqual(await valueOf(), Array(8).fill(6));
    });
  });

  describe('faults under constant load', () => {
    it('a serving process killed (SIGKILL): only requests on its connections fail, within the moment of the kill, and it is started again', async () => {
      const gw = await startGateway({ GRAPHS_DIR: 'graphs', SERVING_PROCESSES: '2', OPS_TOKEN }, { timeoutMs: 90_000 });
      try {
        const [servingPid] = childrenOf(gw.process.pid as number);
        assert.ok(servingPid !== undefined, 'the gateway started a serving process');
        const clients = 16;
        const load = constantLoad(gw.baseUrl, clients);
        await new Promise((r) => setTimeout(r, 1500));
        const killedAt = performance.now();
        process.kill(servingPid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 4000));
        const records = await load.stop();
        const failed = records.filter((r) => r.outcome !== '200');
        const before = records.filter((r) => r.at < killedAt).length;
        const afterKill = records.filter((r) => r.at > killedAt + 500);
        assert.ok(before > 200 && afterKill.length > 200, `load ran on both sides of the kill: ${before} before, ${afterKill.length} after`);
        // At most one request per client was in flight, and only clients whose connection the killed process held lose it.
        assert.ok(failed.length <= clients, `failed: ${JSON.stringify(failed.slice(0, 20))}`);
        for (const f of failed) {
          assert.ok(f.at >= killedAt && f.at < killedAt + 500, `a failure away from the kill: ${JSON.stringify(f)} (kill at ${killedAt})`);
          assert.match(f.outcome, /^(ECONNRESET|EPIPE|socket hang up)/, `a failure that is not a lost connection: ${JSON.stringify(f)}`);
        }
        assert.deepEqual(
          afterKill.filter((r) => r.outcome !== '200'),
          [],
        );
        await until('the serving process to be started again and take connections', async () => {
          const metrics = await scrape(gw);
          return metricSample(metrics, 'infergraph_serving_process_restarts_total') === 1 && metricSample(metrics, 'infergraph_serving_processes_ready') === 1;
        });
        const [restarted] = childrenOf(gw.process.pid as number);
        assert.ok(restarted !== undefined && restarted !== servingPid);
        assert.match(gw.output(), /serving process 1 exited \(SIGKILL\)/);
      } finally {
        await gw.stop();
      }
    });

    it('the gateway stopped (SIGTERM): every request taken is answered 200, then the gateway and its serving processes exit', async () => {
      const gw = await startGateway({ GRAPHS_DIR: 'graphs', SERVING_PROCESSES: '2' }, { timeoutMs: 90_000 });
      const serving = childrenOf(gw.process.pid as number);
      assert.equal(serving.length, 1);
      const load = constantLoad(gw.baseUrl, 16);
      await new Promise((r) => setTimeout(r, 1500));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => gw.process.once('exit', (code, signal) => resolve({ code, signal })));
      const stoppedAt = performance.now();
      gw.process.kill('SIGTERM');
      const { code, signal } = await exited;
      const exitMs = performance.now() - stoppedAt;
      await new Promise((r) => setTimeout(r, 300));
      const records = await load.stop();
      const ok = records.filter((r) => r.outcome === '200').length;
      // Refused connections, and new ones reset once the port closed, were never taken; anything else (a reset
      // of a connection that had answered, a 5xx, a reset before the stop) is a request lost.
      const lost = records.filter((r) => r.outcome !== '200' && r.outcome !== 'ECONNREFUSED' && !(r.outcome === 'ECONNRESET' && r.at > stoppedAt));
      assert.deepEqual(lost, [], `${ok} answered, lost: ${JSON.stringify(lost.slice(0, 10))}`);
      assert.ok(ok > 200, `load ran: ${ok} answered`);
      // NestJS raises the signal again once its shutdown is done: a clean stop ends by SIGTERM or with 0.
      assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}:\n${gw.output().slice(-3000)}`);
      assert.ok(exitMs < 10_000, `exited ${exitMs} ms after SIGTERM`);
      await until('the serving process to exit with its gateway', () => Promise.resolve(!serving.some(processRuns)), 5000);
    });

    it('the gateway killed (SIGKILL): its serving processes exit instead of lingering', async () => {
      const gw = await startGateway({ GRAPHS_DIR: 'graphs', SERVING_PROCESSES: '3' }, { timeoutMs: 90_000 });
      const serving = childrenOf(gw.process.pid as number);
      assert.equal(serving.length, 2);
      gw.process.kill('SIGKILL');
      await until('the serving processes to exit once their gateway is gone', () => Promise.resolve(!serving.some(processRuns)), 10_000);
    });
  });
});
