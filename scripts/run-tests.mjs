// Runs the compiled test files with node's test runner.
//   node scripts/run-tests.mjs [unit|integration|e2e|k8s]...   (default: all)
// unit: dist/**/*.spec.js next to the code; integration, e2e and k8s: dist/test/<kind>/**/*.test.js.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const kinds = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'e2e', 'k8s'];

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(walk(full));
    else out.push(full);
  }
  return out;
}

const all = walk(dist).filter((f) => f.endsWith('.js')).sort();
const files = [];
for (const kind of kinds) {
  if (kind === 'unit') files.push(...all.filter((f) => f.endsWith('.spec.js') && !f.startsWith(path.join(dist, 'test') + path.sep)));
  else files.push(...all.filter((f) => f.startsWith(path.join(dist, 'test', kind) + path.sep) && f.endsWith('.test.js')));
}
if (files.length === 0) {
  console.error(`[test] no compiled test files for: ${kinds.join(', ')} (did the build run?)`);
  process.exit(1);
}
console.error(`[test] ${files.length} test files (${kinds.join(', ')})`);

// Model-source tests fetch from a real S3-compatible server (gofakes3, built from the Go module proxy; cached). Its
// build (under a minute when cold, nothing when cached) runs beside the set-up steps below and is awaited before
// the Kubernetes tools' build, so two Go builds never share the cores and their logs never interleave.
let s3Bin = process.env.INFERGRAPH_S3_BIN;
const s3Ensured = (kinds.includes('integration') || kinds.includes('e2e')) && !s3Bin ? ensureInParallel([process.execPath, path.join(root, 'scripts', 's3', 'server.mjs'), 'ensure']) : undefined;

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

// End-to-end tests stream through a real Kafka broker: KAFKA_BROKERS, or one started here on ports the OS picks
// (never a developer's broker on 19092, which `npm run kafka:start` owns) and stopped after.
let brokers = process.env.KAFKA_BROKERS;
let startedBroker = false;
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
// Kubernetes tests run a real etcd, kube-apiserver and kube-controller-manager built from Go sources (cached).
// Not in the background: on this project's 2-core machine a background build, even at idle CPU priority,
// made the tests beside it 1.3–1.5× slower and saved nothing in total (docs/kubernetes-testing.md).
let k8sBin = process.env.INFERGRAPH_K8S_BIN;
if (kinds.includes('k8s') && !k8sBin) {
  const ensured = spawnSync(process.execPath, [path.join(root, 'scripts', 'k8s', 'tools.mjs'), 'ensure'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (ensured.status !== 0) {
    await setUpFailed('the Kubernetes tools could not be built (node scripts/k8s/tools.mjs ensure; needs Go and the Go module proxy)');
  }
  k8sBin = ensured.stdout.trim().split('\n').pop();
}
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, INFERGRAPH_ROOT: root, ...(brokers ? { KAFKA_BROKERS: brokers } : {}), ...(k8sBin ? { INFERGRAPH_K8S_BIN: k8sBin } : {}), ...(s3Bin ? { INFERGRAPH_S3_BIN: s3Bin } : {}) } },
);
// Quietly: the test runner's summary must stay the last lines of the output.
stopStartedBroker();
process.exit(result.status ?? 1);

function stopStartedBroker() {
  if (!startedBroker) return;
  const port = brokers.split(':').pop();
  spawnSync(process.execPath, [path.join(root, 'scripts', 'kafka', 'broker.mjs'), 'stop', '--port', port], { cwd: root, stdio: 'ignore' });
}

/**
 * Ends the run after a set-up step failed: the S3 server's build, if it still runs, is let finish (a build cut
 * off half-way is cleaned up only by the next one) and a broker this run started is stopped.
 */
async function setUpFailed(message) {
  console.error(`[test] ${message}`);
  await s3Ensured;
  stopStartedBroker();
  process.exit(1);
}

/** Runs `argv` while the steps after it run; resolves with its exit status and stdout (stderr passes through). */
function ensureInParallel(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.on('error', (err) => resolve({ status: 1, stdout: '', error: err }));
    child.on('close', (status) => resolve({ status, stdout }));
  });
}
