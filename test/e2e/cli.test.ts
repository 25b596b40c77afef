import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInfergraph } from '../support/cli.process';
import { freePort, startGateway, type RunningGateway } from '../support/gateway.process';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { repoPath } from '../support/repo';

// The `infergraph` binary run as a real subprocess (bin/infergraph.mjs → dist/apps/cli), against a real gateway
// process on loopback with the example graphs and ONNX models; temporary graph directories are made here.

const COMMANDS = ['validate', 'serve', 'predict', 'apply', 'delete', 'get', 'status', 'import', 'bench'];
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const ESC = '\u001b[';

describe('infergraph: usage, help and exit codes', () => {
  it('prints the command list and exits 2 without a command, 0 with --help', async () => {
    const bare = await runInfergraph([]);
    assert.equal(bare.code, 2);
    for (const c of COMMANDS) assert.match(bare.stderr, new RegExp(`^  ${c} `, 'm'));
    const help = await runInfergraph(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: infergraph <command>/);
  });

  it('answers --help on every command with its usage and options, exit 0', async () => {
    for (const c of COMMANDS) {
      const r = await runInfergraph([c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`^usage: infergraph ${c} `), c);
      assert.match(r.stdout, /--help/, c);
    }
  });

  it('exits 2 naming the problem for an unknown command, an unknown flag or a missing argument', async () => {
    const unknown = await runInfergraph(['vaildate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "vaildate"/);
    const flag = await runInfergraph(['validate', '--bogus', 'graphs']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--bogus'/);
    assert.match(flag.stderr, /usage: infergraph validate/);
    const missing = await runInfergraph(['predict', 'iris']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--data is required/);
  });

  it('says to run npm run build when the compiled CLI is missing (a fresh clone after npm ci)', async () => {
    const clone = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-clone-'));
    try {
      mkdirSync(path.join(clone, 'bin'));
      copyFileSync(repoPath('bin', 'infergraph.mjs'), path.join(clone, 'bin', 'infergraph.mjs'));
      const r = await runInfergraph(['validate', 'graphs'], { bin: path.join(clone, 'bin', 'infergraph.mjs'), cwd: clone });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not built yet.*\n.*npm run build/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});

function runScript(command: string, env: Record<string, string>): Promise<string> {
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: repoPath(), env: { ...process.env, NO_COLOR: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => child.once('close', () => resolve(out)));
}

describe('infergraph validate', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-validate-'));
    // A model file that exists but is no ONNX model: only --strict opens it.
    writeFileSync(path.join(dir, 'garbage.onnx'), 'not a model');
    writeFileSync(path.join(dir, 'garbage.yaml'), oneModelGraphYaml('garbage', './garbage.onnx'));
    writeFileSync(path.join(dir, 'good.yaml'), oneModelGraphYaml('good', repoPath('models', 'iris-logreg', '1', 'model.onnx')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the example graphs with exit 0, listing each file', async () => {
    const r = await runInfergraph(['validate', 'graphs/']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok +graphs\/iris\.yaml \(graph iris\)$/m);
    assert.match(r.stdout, /^ok +graphs\/kafka\/iris-pipeline\.yaml/m);
    assert.match(r.stdout, /all valid/);
  });

  it('reports every problem as file:line:column with its YAML path, exit 1', async () => {
    const r = await runInfergraph(['validate', 'test/fixtures/graphs-broken/six-problems.yaml']);
    assert.equal(r.code, 1);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('test/fixtures/graphs-broken/six-problems.yaml:'));
    assert.ok(lines.length >= 5, r.stdout);
    for (const l of lines) assert.match(l, /^test\/fixtures\/graphs-broken\/six-problems\.yaml:\d+:\d+ error spec\.[\w.[\]]+: /);
    assert.ok(lines.some((l) => /spec\.nodes\[4\]\.inputs: cycle/.test(l)));
  });

  it('--strict reports all six problems of one file, the tensor one behind the broken parts included', async () => {
    const r = await runInfergraph(['validate', '--strict', 'test/fixtures/graphs-broken/six-problems.yaml']);
    assert.equal(r.code, 1);
    const errors = r.stdout.split('\n').filter((l) => / error spec\./.test(l));
    assert.deepEqual(
      errors.map((l) => /^test\/fixtures\/graphs-broken\/six-problems\.yaml:(\d+:\d+) error (spec\.[\w.[\]]+):/.exec(l)?.slice(1).join(' ')),
      ['9:32 spec.inputs[1].datatype', '19:20 spec.nodes[1].model.uri', '24:13 spec.nodes[3].type', '28:15 spec.nodes[4].inputs', '35:13 spec.nodes[7].name', '39:7 spec.outputs[0]'],
      r.stdout,
    );
    assert.match(r.stdout, /six-problems\.yaml:39:7 error spec\.outputs\[0\]: node "clf" has no tensor "labels"/);
    assert.match(r.stdout, /1 file checked \(strict\): 1 with problems, 6 problems$/m);
  });

  it('--json gives the same problems to a program', async () => {
    const text = await runInfergraph(['validate', 'test/fixtures/graphs-broken']);
    const json = await runInfergraph(['validate', '--json', 'test/fixtures/graphs-broken']);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { files: { file: string; valid: boolean; diagnostics: { line: number; column: number; path: string; message: string }[] }[]; problems: number };
    assert.equal(parsed.files.length, 2);
    assert.ok(parsed.files.every((f) => !f.valid));
    assert.equal(parsed.problems, parsed.files.reduce((n, f) => n + f.diagnostics.length, 0));
    for (const f of parsed.files) for (const d of f.diagnostics) assert.ok(text.stdout.includes(`${f.file}:${d.line}:${d.column} error ${d.path}: ${d.message}`));
    assert.ok(!json.stdout.includes(ESC) && !text.stdout.includes(ESC), 'no colour when stdout is not a terminal');
  });

  it('opens models only with --strict: a file that is no ONNX model passes without, fails with it', async () => {
    const loose = await runInfergraph(['validate', path.join(dir, 'garbage.yaml'), path.join(dir, 'good.yaml')]);
    assert.equal(loose.code, 0, loose.stdout);
    const strict = await runInfergraph(['validate', '--strict', path.join(dir, 'garbage.yaml'), path.join(dir, 'good.yaml')]);
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stdout, new RegExp(`${path.join(dir, 'garbage.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+ error spec\\.nodes\\[0\\]\\.model`));
    assert.match(strict.stdout, /^ok +.*good\.yaml \(graph good\)$/m);
  });

  it('colours only on a terminal, and never with NO_COLOR', { skip: existsSync('/usr/bin/script') ? false : 'needs script(1) from util-linux for a pseudo-terminal' }, async () => {
    // script(1) runs the binary on a real pseudo-terminal.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(repoPath('bin', 'infergraph.mjs'))} validate test/fixtures/graphs-broken/broken.yaml`;
    const tty = await runScript(command, {});
    assert.ok(tty.includes(`${ESC}31merror${ESC}0m`), JSON.stringify(tty));
    const noColor = await runScript(command, { NO_COLOR: '1' });
    assert.ok(noColor.includes('broken.yaml:13:20 error spec.nodes[0].model.uri'), noColor);
    assert.ok(!noColor.includes(ESC), JSON.stringify(noColor));
  });

  it('exits 2 for a path that does not exist', async () => {
    const r = await runInfergraph(['validate', 'no/such/dir']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no such file or directory: no\/such\/dir/);
  });
});

describe('infergraph predict against a running gateway', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({ GRAPHS_DIR: 'graphs' });
  });
  after(() => gateway.stop());

  it('prints one table row per batch row, from the short --data form', async () => {
    const r = await runInfergraph(['predict', 'iris', '--url', gateway.baseUrl, '--data', JSON.stringify({ features: [SETOSA, VIRGINICA] })]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^row +species \(BYTES\) +label \(INT64\) +probabilities \(FP32\)$/m);
    assert.match(r.stdout, /^0 +setosa +0 +\[/m);
    assert.match(r.stdout, /^1 +virginica +2 +\[/m);
  });

  it('prints the V2 response with --json, reading the request from a file or standard input', async () => {
    const request = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: VIRGINICA }] };
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-predict-'));
    try {
      writeFileSync(path.join(dir, 'req.json'), JSON.stringify(request));
      const fromFile = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '--json', '--data', `@${path.join(dir, 'req.json')}`]);
      const fromStdin = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '--json', '--data', '-'], { input: JSON.stringify(request) });
      for (const r of [fromFile, fromStdin]) {
        assert.equal(r.code, 0, r.stderr);
        const body = JSON.parse(r.stdout) as { model_name: string; outputs: { name: string; data: unknown[] }[] };
        assert.equal(body.model_name, 'iris');
        assert.deepEqual(body.outputs.find((o) => o.name === 'species')?.data, ['virginica']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--trace prints each node of the graph with its timing, over REST and gRPC alike', async () => {
    const data = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: SETOSA }] });
    const rest = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '--trace', '-d', data]);
    const grpc = await runInfergraph(['predict', 'iris', '--grpc', '-u', gateway.grpcAddress, '--trace', '-d', data]);
    for (const r of [rest, grpc]) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^0 +setosa +0 +\[/m);
      assert.match(r.stdout, /^node +type +start ms +duration ms +status$/m);
      for (const node of ['standardize', 'classifier', 'species']) assert.match(r.stdout, new RegExp(`^${node} +\\w+ +[\\d.]+ +[\\d.]+ +ok$`, 'm'));
    }
    const json = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '--trace', '--json', '-d', data]);
    const nodes = (JSON.parse(json.stdout) as { parameters: { trace: { nodes: { node: string }[] } } }).parameters.trace.nodes.map((n) => n.node);
    assert.deepEqual([...nodes].sort(), ['classifier', 'species', 'standardize']);
  });

  it('sends --version and --header; a wrong version or graph exits 1 with the gateway\'s message', async () => {
    const data = JSON.stringify({ features: [SETOSA] });
    const wrong = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '--version', '99', '-d', data]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /404 .*no version "99"/);
    const unknown = await runInfergraph(['predict', 'nope', '-u', gateway.baseUrl, '-d', '{"inputs":[]}']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown graph "nope"/);
    const sticky = await runInfergraph(['predict', 'iris-ab', '-u', gateway.baseUrl, '-H', 'x-user-id:42', '-d', data]);
    assert.equal(sticky.code, 0, sticky.stderr);
    assert.match(sticky.stdout, /^route split=(logreg|forest)$/m);
  });

  it('exits 2 for --data that is not JSON, 1 when nothing listens at --url', async () => {
    const bad = await runInfergraph(['predict', 'iris', '-u', gateway.baseUrl, '-d', '{features']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--data is not JSON/);
    const port = await freePort();
    const down = await runInfergraph(['predict', 'iris', '-u', `http://127.0.0.1:${port}`, '-d', '{"inputs":[]}']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the gateway/);
  });
});

describe('infergraph bench against a running gateway', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({ GRAPHS_DIR: 'graphs' });
  });
  after(() => gateway.stop());

  it('runs a closed loop and reports requests, req/s and latency percentiles, exit 0 when none failed', async () => {
    const r = await runInfergraph(['bench', 'iris', '-u', gateway.baseUrl, '-c', '2', '--duration', '1', '--json', '-d', JSON.stringify({ features: [SETOSA] })]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { requests: number; errors: number; requestsPerSecond: number; latencyMs: { p50: number; p99: number; max: number } };
    assert.equal(report.errors, 0);
    assert.ok(report.requests > 0 && report.requestsPerSecond > 0, r.stdout);
    assert.ok(report.latencyMs.p50 <= report.latencyMs.p99 && report.latencyMs.p99 <= report.latencyMs.max, r.stdout);
  });

  it('counts refused requests by status and exits 1', async () => {
    const bad = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    const r = await runInfergraph(['bench', 'iris', '-u', gateway.baseUrl, '-c', '1', '--duration', '1', '-d', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^iris: (\d+) requests in [\d.]+ s over 1 connections, \1 failed$/m);
    assert.match(r.stderr, /× 400 .*dimension 1 must be 4/);
  });
});

describe('infergraph get rollouts against a running gateway', () => {
  let gateway: RunningGateway;
  let guarded: RunningGateway;
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-rollouts-'));
  before(async () => {
    // iris version 1, and version 2 with a rollout whose first step holds for far more requests than the test sends.
    const iris = readFileSync(repoPath('graphs', 'iris.yaml'), 'utf8').replace('../models/', `${repoPath('models')}/`);
    writeFileSync(path.join(dir, 'iris.yaml'), iris);
    writeFileSync(path.join(dir, 'iris-v2.yaml'), iris.replace(/^spec:\n/m, 'spec:\n  version: "2"\n  rollout:\n    steps: [{weightPercent: 10, requests: 100000}]\n'));
    [gateway, guarded] = await Promise.all([
      startGateway({ GRAPHS_DIR: dir, MODEL_ROOTS: repoPath('models'), KAFKA_BROKERS: '' }),
      startGateway({ GRAPHS_DIR: dir, MODEL_ROOTS: repoPath('models'), KAFKA_BROKERS: '', OPS_TOKEN: 'ops-token-for-the-cli-test' }),
    ]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), guarded?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the rollout with its versions, phase, step and weight, as a table or --json', async () => {
    const json = await runInfergraph(['get', 'rollouts', '--gateway', gateway.baseUrl, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const rollouts = (JSON.parse(json.stdout) as { rollouts: { graph: string; from: string; to: string; phase: string; step: number; steps: number; weightPercent: number }[] }).rollouts;
    assert.deepEqual(
      rollouts.map((r) => [r.graph, r.from, r.to, r.step, r.steps, r.weightPercent]),
      [['iris', '1', '2', 1, 1, 10]],
    );
    const table = await runInfergraph(['get', 'rollouts', '--gateway', gateway.baseUrl]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^iris +1 +2 +\S+ +1\/1 +10 /m);
  });

  it("needs the gateway's OPS_TOKEN when it has one: exit 1 naming --ops-token without it, 0 with it", async () => {
    const refused = await runInfergraph(['get', 'rollouts', '--gateway', guarded.baseUrl]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401: give the gateway's OPS_TOKEN with --ops-token or INFERGRAPH_OPS_TOKEN/);
    const allowed = await runInfergraph(['get', 'rollouts', '--gateway', guarded.baseUrl, '--json'], { env: { INFERGRAPH_OPS_TOKEN: 'ops-token-for-the-cli-test' } });
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});

describe('infergraph serve', () => {
  it('serves the given directory on the given ports until SIGTERM, then exits 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-serve-'));
    writeFileSync(path.join(dir, 'one.yaml'), oneModelGraphYaml('one', repoPath('models', 'iris-logreg', '1', 'model.onnx')));
    const [port, grpcPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [repoPath('bin', 'infergraph.mjs'), 'serve', '--port', String(port), '--grpc-port', String(grpcPort), dir], {
      cwd: repoPath(),
      env: { ...process.env, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => undefined);
        if (res?.status === 200) break;
        if (child.exitCode !== null) assert.fail(`serve exited early:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const data = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: VIRGINICA }] });
      const rest = await runInfergraph(['predict', 'one', '-u', `http://127.0.0.1:${port}`, '--json', '-d', data]);
      const grpc = await runInfergraph(['predict', 'one', '--grpc', '-u', `127.0.0.1:${grpcPort}`, '--json', '-d', data]);
      for (const r of [rest, grpc]) {
        assert.equal(r.code, 0, r.stderr + out);
        assert.deepEqual((JSON.parse(r.stdout) as { outputs: { data: unknown[] }[] }).outputs[0]?.data, [2]);
      }
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps its flags to the gateway environment (--dry-run) and refuses an unknown transport with exit 2', async () => {
    const r = await runInfergraph(['serve', '--dry-run', '-p', '9000', '--grpc-port', '9001', '-t', 'grpc', '--workers', '127.0.0.1:7001', '--model-roots', 'models', 'graphs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { GRAPHS_DIR: repoPath('graphs'), PORT: '9000', GRPC_PORT: '9001', NODE_TRANSPORT: 'grpc', WORKERS: '127.0.0.1:7001', MODEL_ROOTS: 'models' });
    const bad = await runInfergraph(['serve', '-t', 'carrier-pigeon', 'graphs']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--transport must be one of inprocess, grpc, kafka/);
  });
});
