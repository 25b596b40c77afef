// Builds the Kubernetes test tools (etcd, kube-apiserver, kube-controller-manager, kubectl, helm,
// kubeconform) from the Go module proxy into a cache outside the clone, and reuses them.
//   node scripts/k8s/tools.mjs ensure   → builds what is missing; the bin directory is the last stdout line
// Cache: $INFERGRAPH_CACHE_DIR (default ~/.cache/infergraph)/k8s-<versions>/{bin,src}. Delete it to rebuild.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../lib/cache-root.mjs';
import { goBuildEnv, runLogged, withBuildLock } from '../lib/go-build.mjs';
import { pidAlive } from '../lib/pid-lock.mjs';

export const versions = Object.freeze({ kubernetes: '1.35.4', etcd: '3.6.16', helm: '4.1.4', kubeconform: '0.8.0' });

// Staging modules of k8s.io/kubernetes v1.35.4: its go.mod points them at ./staging, which a dependency
// cannot use, so the wrapper module pins each one to its published v0.35.4 tag.
const STAGING = [
  'api', 'apiextensions-apiserver', 'apimachinery', 'apiserver', 'cli-runtime', 'client-go', 'cloud-provider',
  'cluster-bootstrap', 'code-generator', 'component-base', 'component-helpers', 'controller-manager', 'cri-api',
  'cri-client', 'csi-translation-lib', 'dynamic-resource-allocation', 'endpointslice', 'externaljwt', 'kms',
  'kube-aggregator', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubectl', 'kubelet', 'metrics',
  'mount-utils', 'pod-security-admission', 'sample-apiserver', 'sample-cli-plugin', 'sample-controller',
];

export function cacheDir() {
  const v = versions;
  return path.join(cacheRoot(), `k8s-v${v.kubernetes}-etcd${v.etcd}-helm${v.helm}-kubeconform${v.kubeconform}`);
}

// One -ldflags for the one build: a -X naming a package a binary does not link is ignored by that binary.
const LDFLAGS = (() => {
  const [major, minor] = versions.kubernetes.split('.');
  const vars = { gitVersion: `v${versions.kubernetes}`, gitMajor: major, gitMinor: minor, gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z' };
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, val] of Object.entries(vars)) flags.push(`-X ${pkg}.${k}=${val}`);
  }
  flags.push(`-X helm.sh/helm/v4/internal/version.version=v${versions.helm}`, '-X helm.sh/helm/v4/internal/version.metadata=', '-X helm.sh/helm/v4/internal/version.gitTreeState=clean');
  flags.push(`-X main.version=v${versions.kubeconform}`); // only kubeconform's main has a version variable
  return flags.join(' ');
})();

// Each tool: the main package the one module builds it from, and how to tell that a built binary is the right one.
const TOOLS = [
  { key: 'etcd', name: 'etcd', pkg: './etcd', check: ['--version'], expect: `etcd Version: ${versions.etcd}` },
  { key: 'kubeconform', name: 'kubeconform', pkg: 'github.com/yannh/kubeconform/cmd/kubeconform', check: ['-v'], expect: `v${versions.kubeconform}` },
  { key: 'helm', name: 'helm', pkg: 'helm.sh/helm/v4/cmd/helm', check: ['version', '--short'], expect: `v${versions.helm}` },
  { key: 'kubectl', name: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl', check: ['version', '--client'], expect: `v${versions.kubernetes}` },
  { key: 'kubeApiserver', name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', check: ['--version'], expect: `Kubernetes v${versions.kubernetes}` },
  { key: 'kubeControllerManager', name: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager', check: ['--version'], expect: `Kubernetes v${versions.kubernetes}` },
];

/**
 * The one wrapper module all six tools are built from. One module means one set of dependency versions: the
 * packages the tools share (client-go, apimachinery, grpc, protobuf, OpenTelemetry) are compiled once, where
 * a module per tool compiled them up to three times (helm 4.1.4 is the last helm on k8s.io/* v0.35, the
 * line this Kubernetes pins). `go install` of etcd or of k8s.io/kubernetes/cmd/* fails on their replace
 * directives, hence a wrapper module, and etcd gets a main of its own in it.
 */
function wrapperSources() {
  const stagingVersion = `v0.${versions.kubernetes.split('.').slice(1).join('.')}`;
  const replaces = STAGING.map((m) => `\tk8s.io/${m} => k8s.io/${m} ${stagingVersion}`).join('\n');
  const tools = TOOLS.filter((t) => !t.pkg.startsWith('./')).map((t) => `\t${t.pkg}`).join('\n');
  return {
    'go.mod':
      `module infergraph.local/k8s-tools\n\ngo 1.25.0\n\n` +
      `require (\n\tk8s.io/kubernetes v${versions.kubernetes}\n\thelm.sh/helm/v4 v${versions.helm}\n\tgo.etcd.io/etcd/server/v3 v${versions.etcd}\n\tgithub.com/yannh/kubeconform v${versions.kubeconform}\n)\n\n` +
      `tool (\n${tools}\n)\n\nreplace (\n${replaces}\n)\n`,
    'etcd/main.go': 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
  };
}

/** Packages `go build -v` has listed in the log since byte `from`: its lines, less Go's own notes and the command lines. */
function compiledSince(logFile, from) {
  const fd = openSync(logFile, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('go: ') && !l.startsWith('$ ') && !l.startsWith('#')).length;
  } finally {
    closeSync(fd);
  }
}

function toolState(dir, tool) {
  const file = path.join(dir, 'bin', tool.name);
  if (!existsSync(file)) return { file, ok: false, why: 'missing' };
  const r = spawnSync(file, tool.check, { encoding: 'utf8', timeout: 30_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) return { file, ok: false, why: `'${tool.name} ${tool.check.join(' ')}' exited ${r.status ?? r.signal}` };
  if (!out.includes(tool.expect)) return { file, ok: false, why: `'${tool.name} ${tool.check.join(' ')}' does not report ${tool.expect}` };
  return { file, ok: true };
}

/**
 * Makes sure all tools are built and runnable; builds what is missing.
 * @returns {Promise<{dir: string, bin: Record<string,string>, versions: typeof versions}>}
 */
export async function ensureK8sTools({ log = (line) => process.stderr.write(`[k8s-tools] ${line}\n`) } = {}) {
  const dir = cacheDir();
  const binDir = path.join(dir, 'bin');
  const result = () => ({ dir, bin: Object.fromEntries(TOOLS.map((t) => [t.key, path.join(binDir, t.name)])), versions });
  if (TOOLS.every((t) => toolState(dir, t).ok)) return result();

  mkdirSync(binDir, { recursive: true });
  await withBuildLock(dir, log, async () => {
    const missing = TOOLS.map((t) => ({ tool: t, state: toolState(dir, t) })).filter((x) => !x.state.ok);
    if (missing.length === 0) return;
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.status !== 0) throw new Error('k8s tools: Go is needed to build them (go not found on PATH)');
    const env = goBuildEnv(dir);
    mkdirSync(env.GOTMPDIR, { recursive: true });
    const started = Date.now();
    const secs = () => `${Math.round((Date.now() - started) / 1000)}s`;
    log(`building ${missing.map((m) => `${m.tool.name} (${m.state.why})`).join(', ')} into ${binDir} with ${go.stdout.trim()}; a cold build takes several minutes`);
    const logFile = path.join(dir, 'build.log');
    // A builder stopped half-way (a test run interrupted with Ctrl-C) leaves its temporary directory: remove
    // those of builders no longer running.
    for (const name of readdirSync(dir)) {
      const pid = /^\.build-(\d+)$/.exec(name)?.[1];
      if (pid !== undefined && !pidAlive(Number(pid))) rmSync(path.join(dir, name), { recursive: true, force: true });
    }
    const tmp = path.join(dir, `.build-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      const src = path.join(dir, 'src');
      log(`[1/2] resolving the wrapper module in ${src} (${secs()})`);
      // Written fresh each time; `go mod tidy` then pins the dependencies in go.mod and go.sum.
      for (const [name, text] of Object.entries(wrapperSources())) {
        mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
        writeFileSync(path.join(src, name), text);
      }
      await runLogged('go', ['mod', 'tidy'], { cwd: src, env, logFile });
      const names = missing.map((m) => m.tool.name).join(', ');
      log(`[2/2] go build ${names} (${secs()}; a progress line every minute)`);
      // One build for all: shared packages compile once and the links run beside other compiles. -v lists each
      // package as it is compiled, which the progress lines count.
      const logBefore = statSync(logFile).size;
      const progress = setInterval(() => log(`[2/2] ${compiledSince(logFile, logBefore)} packages compiled (${secs()})`), 60_000);
      try {
        await runLogged('go', ['build', '-p', '2', '-v', `-ldflags=${LDFLAGS}`, '-o', `${tmp}${path.sep}`, ...missing.map((m) => m.tool.pkg)], { cwd: src, env, logFile });
      } finally {
        clearInterval(progress);
      }
      for (const { tool } of missing) {
        renameSync(path.join(tmp, tool.name), path.join(binDir, tool.name));
        const state = toolState(dir, tool);
        if (!state.ok) throw new Error(`k8s tools: ${tool.name} was built but ${state.why}; see ${logFile}`);
      }
      writeFileSync(path.join(dir, 'versions.json'), `${JSON.stringify(versions, null, 2)}\n`);
      log(`all tools built in ${secs()}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  const missingAfter = TOOLS.map((t) => ({ t, s: toolState(dir, t) })).filter((x) => !x.s.ok);
  if (missingAfter.length > 0) throw new Error(`k8s tools: ${missingAfter.map((x) => `${x.t.name}: ${x.s.why}`).join('; ')}`);
  return result();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  if (cmd !== 'ensure') {
    console.error('usage: node scripts/k8s/tools.mjs ensure');
    process.exit(2);
  }
  ensureK8sTools()
    .then((r) => { console.log(path.dirname(r.bin.etcd)); })
    .catch((err) => { console.error(`[k8s-tools] ${err.message}`); process.exit(1); });
}
