import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoPath } from '../support/repo';

// The test harness itself, because `npm test` runs two files at a time: the ports tests hand to processes that
// bind later (scripts/lib/free-port.mjs) and the lanes files take (scripts/test-lane.mjs). Real parts: node
// processes, sockets on loopback, the lane directory on disk.

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runNode(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ephemeralStart = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0] ?? '', 10);

/** 40 ports picked by a fresh process in `lane` of 2 (or outside lanes). */
async function pickPorts(lane: number | undefined): Promise<number[]> {
  const script = `import(${JSON.stringify(pathToFileURL(repoPath('scripts', 'lib', 'free-port.mjs')).href)}).then(async (m) => console.log(JSON.stringify(await m.freePorts(40))))`;
  const env: Record<string, string> = lane === undefined ? {} : { INFERGRAPH_TEST_LANE: String(lane), INFERGRAPH_TEST_LANE_COUNT: '2' };
  const r = await runNode(['-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as number[];
}

describe('ports for processes that bind later (scripts/lib/free-port.mjs)', () => {
  it('come from below the kernel ephemeral range, where no listen(0) or outgoing connection lands', async () => {
    const ports = await pickPorts(undefined);
    assert.ok(ephemeralStart > 20_000, `this test expects the ephemeral range to start above 20000 (it starts at ${ephemeralStart})`);
    for (const p of ports) assert.ok(p >= 20_000 && p < ephemeralStart, `port ${p} is outside 20000–${ephemeralStart - 1}`);
    assert.equal(new Set(ports).size, ports.length, `a port was handed out twice: ${ports.join(', ')}`);
  });

  it('gives each test lane a block of its own, so two files side by side never pick the same port', async () => {
    const [lane0, lane1] = await Promise.all([pickPorts(0), pickPorts(1)]);
    const middle = 20_000 + Math.floor((ephemeralStart - 20_000) / 2);
    for (const p of lane0) assert.ok(p >= 20_000 && p < middle, `lane 0 picked ${p}, outside its block 20000–${middle - 1}`);
    for (const p of lane1) assert.ok(p >= middle && p < ephemeralStart, `lane 1 picked ${p}, outside its block ${middle}–${ephemeralStart - 1}`);
  });
});

describe('test lanes (scripts/test-lane.mjs)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-lanes-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in test file: prints when it started, its lane and when it ends after `holdMs`. */
  function fakeTestFile(name: string, holdMs: number): string {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      `const t0 = Date.now();\nconsole.log(JSON.stringify({ lane: process.env.INFERGRAPH_TEST_LANE, started: t0 }));\n` +
        `setTimeout(() => console.log(JSON.stringify({ ended: Date.now() })), ${holdMs});\n`,
    );
    return file;
  }

  function runFile(file: string, lanes: string): Promise<{ lane: string; started: number; ended: number }> {
    const env = { NODE_TEST_CONTEXT: 'child-v8', INFERGRAPH_TEST_LANES: lanes, INFERGRAPH_TEST_LANE_COUNT: '2' };
    return runNode(['--import', pathToFileURL(repoPath('scripts', 'test-lane.mjs')).href, file], env).then((r) => {
      assert.equal(r.code, 0, r.stderr);
      const [first, second] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      return { lane: String(first?.['lane']), started: Number(first?.['started']), ended: Number(second?.['ended']) };
    });
  }

  it('gives files running at once different lanes, and a file started while both are taken the first lane freed', async () => {
    const lanes = mkdtempSync(path.join(dir, 'lanes-'));
    const short = runFile(fakeTestFile('short.test.js', 1_500), lanes);
    const long = runFile(fakeTestFile('long.test.js', 4_000), lanes);
    await new Promise((r) => setTimeout(r, 700));
    const late = runFile(fakeTestFile('late.test.js', 100), lanes);
    const [a, b, c] = await Promise.all([short, long, late]);
    assert.deepEqual(new Set([a.lane, b.lane]), new Set(['0', '1']), `lanes of two files at once: ${a.lane}, ${b.lane}`);
    assert.equal(c.lane, a.lane, 'the third file takes the lane the first file to end gave back');
    assert.ok(c.started >= a.ended, `the third file started at ${c.started}, before the lane was free (${a.ended})`);
    assert.ok(c.started < b.ended, 'the third file waited for the longer file too, though a lane was free');
  });
});
