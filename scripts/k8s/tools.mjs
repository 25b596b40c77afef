// Builds the Kubernetes test tools (etcd, kube-apiserver, kube-controller-manager, kubectl, helm,
// kubeconform) from the Go module proxy into a cache outside the clone, and reuses them.
//   node scripts/k8s/tools.mjs ensure   → builds what is missing; the bin directory is the last stdout line
// Cache: $INFERGRAPH_CACHE_DIR (default ~/.cache/infergraph)/k8s-<versions>/{bin,src}. Delete it to rebuild.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, goBuildEnv, pidAlive, runLogged, withBuildLock } from '../lib/go-build.mjs';

export const versions = Object.freeze({ kubernetes: '1.35.4', etcd: '3.6.16', helm: '4.3.2', kubeconform: '0.8.0' });

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

const k8sVersionFlags = (() => {
  const [major, minor] = versions.kubernetes.split('.');
  const vars = { gitVersion: `v${versions.kubernetes}`, gitMajor: major, gitMinor: minor, gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z' };
  const flags = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, val] of Object.entries(vars)) flags.push(`-X ${pkg}.${k}=${val}`);
  }
  return flags.join(' ');
})();

// Each tool: how to build it and how to tell that a built binary is the right one.
const TOOLS = [
  {
    key: 'etcd', name: 'etcd', module: 'etcd',
    check: ['--version'], expect: `etcd Version: ${versions.etcd}`,
    build: { kind: 'wrapper', wrapper: 'etcd', pkg: '.', ldflags: '' },
  },
  {
    key: 'kubeconform', name: 'kubeconform',
    check: ['-v'], expect: `v${versions.kubeconform}`,
    build: { kind: 'install', pkg: `github.com/yannh/kubeconform/cmd/kubeconform@v${versions.kubeconform}`, ldflags: `-X main.version=v${versions.kubeconform}` },
  },
  {
    key: 'helm', name: 'helm',
    check: ['version', '--short'], expect: `v${versions.helm}`,
    build: {
      kind: 'install', pkg: `helm.sh/helm/v4/cmd/helm@v${versions.helm}`,
      ldflags: `-X helm.sh/helm/v4/internal/version.version=v${versions.helm} -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean`,
    },
  },
  {
    key: 'kubectl', name: 'kubectl',
    check: ['version', '--client'], expect: `v${versions.kubernetes}`,
    build: { kind: 'wrapper', wrapper: 'kubernetes', pkg: 'k8s.io/kubernetes/cmd/kubectl', ldflags: k8sVersionFlags },
  },
  {
    key: 'kubeApiserver', name: 'kube-apiserver',
    check: ['--version'], expect: `Kubernetes v${versions.kubernetes}`,
    build: { kind: 'wrapper', wrapper: 'kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', ldflags: k8sVersionFlags },
  },
  {
    key: 'kubeControllerManager', name: 'kube-controller-manager',
    check: ['--version'], expect: `Kubernetes v${versions.kubernetes}`,
    build: { kind: 'wrapper', wrapper: 'kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager', ldflags: k8sVersionFlags },
  },
];

function wrapperSources(name) {
  if (name === 'etcd') {
    return {
      'go.mod': `module infergraph.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v${versions.etcd}\n`,
      'main.go': 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
    };
  }
  const stagingVersion = `v0.${versions.kubernetes.split('.').slice(1).join('.')}`;
  const replaces = STAGING.map((m) => `\tk8s.io/${m} => k8s.io/${m} ${stagingVersion}`).join('\n');
  return {
    'go.mod':
      `module infergraph.local/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes v${versions.kubernetes}\n\n` +
      `tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kube-controller-manager\n\tk8s.io/kubernetes/cmd/kubectl\n)\n\n` +
      `replace (\n${replaces}\n)\n`,
  };
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
    const prepared = new Set();
    try {
      for (const [i, { tool }] of missing.entries()) {
        const step = `[${i + 1}/${missing.length}] ${tool.name}`;
        const b = tool.build;
        const ldflags = `-s -w ${b.ldflags}`.trim();
        if (b.kind === 'install') {
          log(`${step}: go install ${b.pkg} (${secs()})`);
          await runLogged('go', ['install', '-p', '2', `-ldflags=${ldflags}`, b.pkg], { cwd: tmp, env: { ...env, GOBIN: tmp }, logFile });
        } else {
          const src = path.join(dir, 'src', b.wrapper);
          if (!prepared.has(b.wrapper)) {
            log(`${step}: resolving the ${b.wrapper} wrapper module in ${src} (${secs()})`);
            mkdirSync(src, { recursive: true });
            // Written fresh each time; `go mod tidy` then pins the dependencies in go.mod and go.sum.
            for (const [name, text] of Object.entries(wrapperSources(b.wrapper))) writeFileSync(path.join(src, name), text);
            await runLogged('go', ['mod', 'tidy'], { cwd: src, env, logFile });
            prepared.add(b.wrapper);
          }
          log(`${step}: go build ${b.pkg} (${secs()})`);
          await runLogged('go', ['build', '-p', '2', `-ldflags=${ldflags}`, '-o', path.join(tmp, tool.name), b.pkg], { cwd: src, env, logFile });
        }
        renameSync(path.join(tmp, tool.name), path.join(binDir, tool.name));
        const state = toolState(dir, tool);
        if (!state.ok) throw new Error(`k8s tools: ${tool.name} was built but ${state.why}; see ${logFile}`);
        log(`${step}: done (${secs()})`);
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
