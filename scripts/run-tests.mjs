// Runs the compiled test files with node's test runner.
//   node scripts/run-tests.mjs [--build] [unit|integration|e2e|k8s]...   (default: all)
// unit: dist/**/*.spec.js next to the code; integration, e2e and k8s: dist/test/<kind>/**/*.test.js.
// --build (what `npm test` runs): `npm run build` and `npm run lint` first, while the test tools' Go builds,
// which do not need them, are already under way.
// TEST_CONCURRENCY: test files run at once (default 2, which halves the idle time; 1 = one by one; see below).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const KINDS = ['unit', 'integration', 'e2e', 'k8s'];
const args = process.argv.slice(2);
const buildFirst = args.includes('--build');
const named = args.filter((a) => a !== '--build');
const unknown = named.filter((k) => !KINDS.includes(k));
if (unknown.length > 0) {
  console.error(`[test] unknown test kind ${unknown.join(', ')}; the kinds are ${KINDS.join(', ')}`);
  process.exit(2);
}
const kinds = named.length > 0 ? named : KINDS;

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(walk(full));
    else out.push(full);
  }
  return out;
}

// Two files at a time by default (TEST_CONCURRENCY; 1 runs them one by one): most end-to-end files spend much
// of their time waiting (processes starting, leases and heartbeats expiring, consumer groups settling), so a
// second file fills the idle core (a third made load-driven tests miss their request rates on a 2-core
// machine). Each file's lane picks ports from a block of its own (scripts/lib/free-port.mjs), so a port one
// file reserves for a process that binds later (a standby controller, a restart on the same ports) is never
// taken by the file beside it (docs/decisions.md).
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`[test] TEST_CONCURRENCY must be a whole number of at least 1, got ${JSON.stringify(process.env.TEST_CONCURRENCY)}`);
  process.exit(2);
}
// Files that run alone even then (scripts/test-lane.mjs): their assertions hold a time window under load.
const RUN_ALONE = [
  'faults.test.js', // failures only inside the 2 s after a worker is killed
  'cluster.test.js', // re-placement under 200 requests/second, the rate checked
  'batching-faults.test.js', // a worker killed under 200 requests/second, the rate checked
  'controller-sync.test.js', // workers and gateways back within 1 s of a restarted controller
  'clock-steps.test.js', // heartbeats and removal timed against the heartbeat timeout under load
  'detectors.test.js', // no response over 250 ms while a drift window is computed
  'kafka-gateway-kill.test.js', // a frozen gateway's partitions answered by the other within the session timeout
];
// Tools built from the Go module proxy (cached outside the clone; nothing to do when cached) are built beside
// the compile, lint and set-up steps below (those use one core, or wait on downloads), and awaited after them.
// Model-source tests fetch from a real S3-compatible server (gofakes3; under a minute cold). Kubernetes tests
// run a real etcd, kube-apiserver and kube-controller-manager, with kubectl, helm and kubeconform (about ten
// minutes cold). Neither build runs beside the tests: on this project's 2-core machine a build beside them,
// even at idle CPU priority, made them 1.3–1.5× slower and saved nothing in total (docs/kubernetes-testing.md).
let brokers = process.env.KAFKA_BROKERS;
let startedBroker = false;
// The builders run in process groups of their own (so that a failed set-up can stop them with their go
// commands); an interrupted run (Ctrl-C, TERM) stops them as it ends.
const runningBuilds = new Set();
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    for (const stop of runningBuilds) stop();
    stopStartedBroker();
    process.exit(code);
  });
}
let s3Bin = process.env.INFERGRAPH_S3_BIN;
const s3Ensured = (kinds.includes('integration') || kinds.includes('e2e')) && !s3Bin ? ensureInParallel([process.execPath, path.join(root, 'scripts', 's3', 'server.mjs'), 'ensure']) : undefined;
let k8sBin = process.env.INFERGRAPH_K8S_BIN;
const k8sEnsured = kinds.includes('k8s') && !k8sBin ? ensureInParallel([process.execPath, path.join(root, 'scripts', 'k8s', 'tools.mjs'), 'ensure']) : undefined;

if (buildFirst) {
  // npm_execpath: the npm that runs this script (`npm test`); plain `npm` otherwise.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  for (const script of ['build', 'lint']) {
    const r = spawnSync(npm[0], [...npm.slice(1), 'run', script, '--silent'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) await setUpFailed(`npm run ${script} failed`);
  }
}

// The order files start in: those that run alone back to back first (each would otherwise wait, with a lane
// idle, for the file beside it to end), then the slow kinds before the many short unit files, so that no long
// file runs by itself at the end.
const ORDER = ['k8s', 'e2e', 'integration', 'unit'];
const all = walk(dist).filter((f) => f.endsWith('.js')).sort();
const files = [];
for (const kind of [...kinds].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))) {
  if (kind === 'unit') files.push(...all.filter((f) => f.endsWith('.spec.js') && !f.startsWith(path.join(dist, 'test') + path.sep)));
  else files.push(...all.filter((f) => f.startsWith(path.join(dist, 'test', kind) + path.sep) && f.endsWith('.test.js')));
}
if (concurrency > 1) files.sort((a, b) => Number(RUN_ALONE.includes(path.basename(b))) - Number(RUN_ALONE.includes(path.basename(a))));
if (files.length === 0) await setUpFailed(`no compiled test files for: ${kinds.join(', ')} (did the build run?)`);
console.error(`[test] ${files.length} test files (${kinds.join(', ')}), ${concurrency} at a time`);

// End-to-end tests scrape real processes with Prometheus and lint their metrics with promtool.
if (kinds.includes('e2e')) {
  const ensured = spawnSync(process.execPath, [path.join(root, 'scripts', 'prometheus', 'ensure.mjs')], { cwd: root, stdio: 'inherit' });
  if (ensured.status !== 0) {
    await setUpFailed('Prometheus is needed by the e2e tests (scripts/prometheus/ensure.mjs)');
  }
}

// The dashboards' end-to-end tests drive Debian's Chromium (puppeteer-core downloads no browser).
if (kinds.includes('e2e')) {
  const ensured = spawnSync(process.execPath, [path.join(root, 'scripts', 'chromium', 'ensure.mjs')], { cwd: root, stdio: 'inherit' });
  if (ensured.status !== 0) {
    await setUpFailed('Chromium is needed by the e2e tests of the dashboards (scripts/chromium/ensure.mjs)');
  }
}

// End-to-end tests stream through a real Kafka broker: KAFKA_BROKERS, or one started here on two free ports
// (never a developer's broker on 19092, which `npm run kafka:start` owns) and stopped after.
if (kinds.includes('e2e') && !brokers) {
  const started = spawnSync(process.execPath, [path.join(root, 'scripts', 'kafka', 'broker.mjs'), 'start', '--free-port'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (started.status !== 0) {
    await setUpFailed('could not start the Kafka broker (scripts/kafka/broker.mjs start)');
  }
  brokers = started.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[\w.-]+:\d+$/.test(l)).pop();
  startedBroker = true;
}
if (s3Ensured !== undefined) {
  const ensured = await s3Ensured;
  if (ensured.status !== 0) await setUpFailed('the S3 test server could not be built (node scripts/s3/server.mjs ensure; needs Go and the Go module proxy)');
  s3Bin = ensured.stdout.trim().split('\n').pop();
}
if (k8sEnsured !== undefined) {
  const ensured = await k8sEnsured;
  if (ensured.status !== 0) await setUpFailed('the Kubernetes tools could not be built (node scripts/k8s/tools.mjs ensure; needs Go and the Go module proxy)');
  k8sBin = ensured.stdout.trim().split('\n').pop();
}
const lanes = concurrency > 1 ? mkdtempSync(path.join(os.tmpdir(), 'infergraph-test-lanes-')) : undefined;
const laneEnv = lanes === undefined ? {} : { INFERGRAPH_TEST_LANES: lanes, INFERGRAPH_TEST_LANE_COUNT: String(concurrency), INFERGRAPH_TEST_ALONE: RUN_ALONE.join(',') };
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', ...(lanes === undefined ? [] : ['--import', pathToFileURL(path.join(root, 'scripts', 'test-lane.mjs')).href]), path.join(root, 'scripts', 'run-test-files.mjs'), String(concurrency), ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, INFERGRAPH_ROOT: root, ...laneEnv, ...(brokers ? { KAFKA_BROKERS: brokers } : {}), ...(k8sBin ? { INFERGRAPH_K8S_BIN: k8sBin } : {}), ...(s3Bin ? { INFERGRAPH_S3_BIN: s3Bin } : {}) } },
);
// Quietly: the test runner's summary must stay the last lines of the output.
if (lanes !== undefined) rmSync(lanes, { recursive: true, force: true });
stopStartedBroker();
process.exit(result.status ?? 1);

function stopStartedBroker() {
  if (!startedBroker) return;
  const port = brokers.split(':').pop();
  spawnSync(process.execPath, [path.join(root, 'scripts', 'kafka', 'broker.mjs'), 'stop', '--port', port], { cwd: root, stdio: 'ignore' });
}

/**
 * Ends the run after a set-up step failed: the builds still running are stopped (the next build clears what
 * they leave half-done) and a broker this run started is stopped.
 */
async function setUpFailed(message) {
  console.error(`[test] ${message}`);
  for (const stop of runningBuilds) stop();
  await Promise.all([s3Ensured, k8sEnsured]);
  stopStartedBroker();
  process.exit(1);
}

/**
 * Runs `argv` in a process group of its own while the steps after it run; resolves with its exit status and
 * stdout (stderr passes through). Until it ends, `runningBuilds` holds how to stop it and what it started (the
 * go commands).
 */
function ensureInParallel(argv) {
  const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already ended
    }
  };
  runningBuilds.add(stop);
  return new Promise((resolve) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.on('error', (err) => resolve({ status: 1, stdout: '', error: err }));
    child.on('close', (status) => {
      runningBuilds.delete(stop);
      resolve({ status, stdout });
    });
  });
}
