import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/free-port';
import { repoPath } from '../support/repo';

// There is no Docker engine here, so this test does what the image build would, with real parts: it parses
// the real Dockerfile, checks what each stage copies, replays the build stage (the real `npm run build` on
// only the files the stage copies) and the runtime stage (its files, and node_modules holding only the
// packages `npm ci --omit=dev` installs from package-lock.json), then starts the gateway, the worker and the
// controller from that layout as real processes on loopback and talks to them.

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly name: string;
  readonly instructions: readonly Instruction[];
}

/** Dockerfile instructions per stage; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && pending === '') continue;
    if (/^\s*$/.test(line) && pending === '') continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      logical.push((pending + line).trim());
      pending = '';
    }
  }
  const stages: { name: string; instructions: Instruction[] }[] = [];
  for (const entry of logical) {
    const m = /^(\w+)\s+(.*)$/s.exec(entry);
    assert.ok(m !== null, `not an instruction: ${entry}`);
    const op = (m[1] ?? '').toUpperCase();
    const args = (m[2] ?? '').trim();
    if (op === 'FROM') stages.push({ name: /\bAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length), instructions: [] });
    else if (op !== 'ARG' || stages.length > 0) {
      const stage = stages.at(-1);
      assert.ok(stage !== undefined, `${op} before FROM`);
      stage.instructions.push({ op, args });
    }
  }
  return stages;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}

function copyOf(i: Instruction): Copy {
  const words = i.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const rest = words.filter((w) => !w.startsWith('--'));
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

/** Whether `.dockerignore` keeps `file` out of the build context (the plain patterns this repository uses). */
function ignoredByDockerignore(file: string, patterns: readonly string[]): boolean {
  const toRegex = (p: string): RegExp => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
  return patterns.some((p) => toRegex(p).test(file) || (!p.includes('/') && file.split('/').some((part) => toRegex(p).test(part))));
}

/** Top-level packages `npm ci --omit=dev` installs: package-lock.json entries not marked dev. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(repoPath('package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { dev?: boolean }> };
  assert.ok(lock.lockfileVersion >= 2, 'package-lock.json v2 or later (it lists every installed package)');
  return Object.entries(lock.packages)
    .filter(([key, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && entry.dev !== true)
    .map(([key]) => key.slice('node_modules/'.length));
}

/** Bare package names a compiled file and everything it requires (relative files, transitively) import. */
function packagesImportedFrom(entries: readonly string[]): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) {
        const base = path.resolve(path.dirname(file), spec);
        const resolved = [base, `${base}.js`, path.join(base, 'index.js')].find((c) => existsSync(c) && statSync(c).isFile());
        if (resolved !== undefined) queue.push(resolved);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
      if (spec.startsWith('node:') || builtinModules.includes(name)) continue;
      if (!packages.has(name)) packages.set(name, path.relative(repoPath(), file));
    }
    // Worker threads are started from file names (new Worker(path.join(__dirname, 'x.worker.js'))).
    for (const m of text.matchAll(/["']([\w.-]+\.js)["']/g)) {
      const candidate = path.join(path.dirname(file), m[1] as string);
      if (existsSync(candidate) && statSync(candidate).isFile()) queue.push(candidate);
    }
  }
  return packages;
}

interface Started {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then the way it exited: `0` or `SIGTERM` (NestJS re-raises the signal after its shutdown hooks). */
  stop(): Promise<string>;
}

/** Runs `node <args>` in the replayed image and resolves with the first match of `ready` in its output. */
async function startIn(cwd: string, args: readonly string[], env: Record<string, string>, ready: RegExp): Promise<{ started: Started; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const started: Started = {
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(String(child.exitCode ?? child.signalCode));
        child.once('exit', (code, signal) => resolve(String(code ?? signal)));
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 25_000).unref();
      }),
  };
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start within 60 s:\n${out}`)), 60_000);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = ready.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
  return { started, match };
}

async function waitFor(url: string, status: number, timeoutMs: number): Promise<Response> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === status) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

const MAINS = { gateway: 'dist/apps/gateway/src/main.js', worker: 'dist/apps/worker/src/main.js', controller: 'dist/apps/controller/src/main.js' } as const;

describe('the Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(repoPath('Dockerfile'), 'utf8'));
  const ignore = readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1);

  it('has a build stage and a runtime stage: non-root, node as the entrypoint, the gateway by default', () => {
    assert.ok(build !== undefined, 'a stage named build');
    assert.ok(runtime !== undefined && runtime !== build);
    const last = (op: string): string | undefined => runtime.instructions.filter((i) => i.op === op).at(-1)?.args;
    assert.match(last('USER') ?? '', /^10001(:10001)?$/);
    assert.deepEqual(JSON.parse(last('ENTRYPOINT') ?? 'null'), ['node']);
    assert.deepEqual(JSON.parse(last('CMD') ?? 'null'), [MAINS.gateway]);
    assert.match(last('HEALTHCHECK') ?? '', /\/v2\/health\/live/);
    // The other two commands of the same image.
    for (const main of Object.values(MAINS)) assert.ok(existsSync(repoPath(main)), `${main} is built`);
  });

  it('copies only files that exist in the build context (none kept out by .dockerignore) or in the build stage output', () => {
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY').map(copyOf)) {
        for (const source of copy.sources) {
          if (copy.from === undefined) {
            assert.ok(existsSync(repoPath(source)), `${stage.name}: COPY ${source}: not in the repository`);
            assert.ok(!ignoredByDockerignore(source, ignore), `${stage.name}: COPY ${source}: excluded by .dockerignore`);
          } else {
            assert.equal(copy.from, 'build', `${stage.name}: COPY --from=${copy.from}`);
            assert.match(source, /^\/src\/dist\//, `${stage.name}: COPY --from=build ${source}: only the build output`);
            assert.ok(existsSync(repoPath(source.slice('/src/'.length))), `${source}: \`npm run build\` does not produce it`);
          }
        }
      }
    }
    for (const secretish of ['.infergraph', 'node_modules', '.git', 'dist']) assert.ok(ignoredByDockerignore(secretish, ignore), `.dockerignore keeps ${secretish} out`);
  });

  it('keeps .npmrc (no CUDA download by onnxruntime-node) in place before every npm ci', () => {
    assert.match(readFileSync(repoPath('.npmrc'), 'utf8'), /^onnxruntime-node-install=skip$/m);
    for (const stage of stages) {
      const npmCi = stage.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      if (npmCi === -1) continue;
      const npmrc = stage.instructions.findIndex((i) => i.op === 'COPY' && copyOf(i).sources.includes('.npmrc'));
      assert.ok(npmrc !== -1 && npmrc < npmCi, `${stage.name}: .npmrc is copied before npm ci`);
    }
    assert.ok(runtime?.instructions.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args)), 'the runtime stage installs production dependencies only');
  });

  it('needs no dev dependency at run time: every package the three entrypoints import is a production dependency', () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const imported = packagesImportedFrom(Object.values(MAINS).map((m) => repoPath(m)));
    assert.ok(imported.has('@nestjs/core') && imported.has('onnxruntime-node'), 'the import scan sees the entrypoints\' packages');
    const notProduction = [...imported].filter(([name]) => pkg.dependencies[name] === undefined);
    // TypeScript is loaded lazily, only for .ts custom modules (libs/engine/src/typescript-transpile.process.ts),
    // and says so when missing; anything else here would fail in the image.
    assert.deepEqual(
      notProduction.map(([name]) => name),
      ['typescript'],
      `imported but not in dependencies: ${notProduction.map(([n, f]) => `${n} (${f})`).join(', ')}`,
    );
  });

  describe('replayed into a temporary directory', () => {
    let root = '';
    let app = '';
    let runtimeEnv: Record<string, string> = {};
    const running: Started[] = [];

    before(() => {
      assert.ok(build !== undefined && runtime !== undefined);
      root = mkdtempSync(path.join(tmpdir(), 'infergraph-image-'));
      // Build stage: its COPYs into /src, the repository's full node_modules (npm ci), then `npm run build`.
      const src = path.join(root, 'src');
      replayStage(build, src, () => symlinkSync(repoPath('node_modules'), path.join(src, 'node_modules'), 'dir'));
      // Runtime stage: its COPYs (--from=build from the replayed build), only production packages.
      app = path.join(root, 'app');
      runtimeEnv = replayStage(runtime, app, () => linkProductionPackages(app), src);
    });

    after(async () => {
      await Promise.all(running.map((r) => r.stop()));
      if (root !== '') rmSync(root, { recursive: true, force: true });
    });

    /** Node resolves the linked packages at their place in the image's node_modules, not in the repository's. */
    function imageEnv(extra: Record<string, string>): Record<string, string> {
      const base: Record<string, string> = { PATH: process.env['PATH'] ?? '', NODE_PRESERVE_SYMLINKS: '1', LOG_FORMAT: 'text' };
      return { ...base, ...runtimeEnv, ...extra };
    }

    it('the build stage builds all three entrypoints from the files it copies', () => {
      for (const main of Object.values(MAINS)) assert.ok(existsSync(path.join(root, 'src', main)), `${main} built in the replayed build stage`);
      assert.ok(!existsSync(path.join(app, 'node_modules', 'typescript')), 'no dev dependency in the runtime layout');
      assert.ok(existsSync(path.join(app, 'node_modules', 'onnxruntime-node')));
      assert.ok(existsSync(path.join(app, 'graphs', 'iris.yaml')) && existsSync(path.join(app, 'models', 'iris-logreg-core', '1', 'model.onnx')));
    });

    it('runs the gateway (the default command): live at once, then serving the example graphs with onnxruntime', async () => {
      const grpcPort = await freePort();
      const { started, match } = await startIn(app, [MAINS.gateway], imageEnv({ HOST: '127.0.0.1', PORT: '0', GRPC_PORT: String(grpcPort) }), /listening on (http:\/\/127\.0\.0\.1:(\d+))/);
      running.push(started);
      const base = match[1] as string;
      await waitFor(`${base}/v2/health/live`, 200, 10_000);
      // The image's HEALTHCHECK command, as Docker would run it.
      const healthcheck = runtime?.instructions.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
      const argv = JSON.parse(/CMD\s+(\[.*\])\s*$/.exec(healthcheck)?.[1] ?? '[]') as string[];
      assert.equal(argv[0], 'node');
      const probe = spawnSync(process.execPath, argv.slice(1), { cwd: app, env: imageEnv({ PORT: match[2] as string }), timeout: 10_000 });
      assert.equal(probe.status, 0, `HEALTHCHECK failed: ${probe.stderr.toString()}`);
      await waitFor(`${base}/v2/health/ready`, 200, 60_000);
      const res = await fetch(`${base}/v2/models/iris/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { outputs: { name: string; data: unknown[] }[] };
      assert.deepEqual(body.outputs.find((o) => o.name === 'species')?.data, ['setosa']);
      // Without the typescript package (a dev dependency) a .ts custom module cannot load, and says why.
      const graphs = (await (await fetch(`${base}/v1/graphs`)).json()) as { graphs: { name: string; state: string; error?: string }[] };
      const custom = graphs.graphs.find((g) => g.name === 'iris-custom');
      assert.equal(custom?.state, 'failed');
      assert.match(custom?.error ?? '', /needs the "typescript" package/);
      assert.match(await started.stop(), /^(0|SIGTERM)$/, started.output());
      const after = spawnSync(process.execPath, argv.slice(1), { cwd: app, env: imageEnv({ PORT: match[2] as string }), timeout: 10_000 });
      assert.equal(after.status, 1, 'HEALTHCHECK fails once the gateway is gone');
    });

    it('runs the worker command: it loads the graphs and answers on its metrics port', async () => {
      const workerPort = await freePort();
      const { started, match } = await startIn(
        app,
        [MAINS.worker],
        imageEnv({ HOST: '127.0.0.1', WORKER_PORT: String(workerPort), METRICS_PORT: '0', WORKER_CPU: '1', WORKER_MEMORY: String(2 ** 30) }),
        /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
      );
      running.push(started);
      await waitFor(`${match[1] as string}/healthz`, 200, 10_000);
      await waitFor(`${match[1] as string}/metrics`, 200, 10_000);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "worker listening" line:\n${started.output()}`)), 60_000);
        const check = setInterval(() => {
          if (new RegExp(`worker listening on grpc://127\\.0\\.0\\.1:${workerPort}`).test(started.output())) {
            clearInterval(check);
            clearTimeout(timer);
            resolve();
          }
        }, 100);
      });
      assert.match(await started.stop(), /^(0|SIGTERM)$/, started.output());
    });

    it('runs the controller command: its admin API answers /healthz', async () => {
      const state = path.join(root, 'state');
      const { started, match } = await startIn(
        app,
        [MAINS.controller],
        imageEnv({ HOST: '127.0.0.1', PORT: '0', CONTROL_PORT: String(await freePort()), STATE_DIR: state }),
        /admin API on (http:\/\/127\.0\.0\.1:\d+)/,
      );
      running.push(started);
      await waitFor(`${match[1] as string}/healthz`, 200, 10_000);
      assert.match(await started.stop(), /^(0|SIGTERM)$/, started.output());
    });
  });
});

/**
 * Replays a stage into `dir` (its WORKDIR): COPY from the repository (or, with --from=build, from the
 * replayed build stage's WORKDIR `buildDir`), ENV collected, RUN `npm ci` via `install`, RUN `npm run build`
 * for real. Returns the stage's environment.
 */
function replayStage(stage: Stage, dir: string, install: () => void, buildDir?: string): Record<string, string> {
  const env: Record<string, string> = {};
  let workdir: string | undefined;
  for (const i of stage.instructions) {
    switch (i.op) {
      case 'WORKDIR':
        assert.equal(workdir, undefined, 'one WORKDIR per stage');
        workdir = i.args;
        mkdirSync(dir, { recursive: true });
        break;
      case 'COPY': {
        const copy = copyOf(i);
        for (const source of copy.sources) {
          const from = copy.from === undefined ? repoPath(source) : path.join(buildDir ?? '', path.relative('/src', source));
          const destination = copy.dest.endsWith('/') || copy.sources.length > 1 ? path.join(dir, copy.dest, path.basename(source)) : path.join(dir, copy.dest);
          cpSync(from, destination, { recursive: true });
        }
        break;
      }
      case 'ENV':
        for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
        break;
      case 'RUN':
        if (/\bnpm ci\b/.test(i.args)) install();
        if (/\bnpm run build\b/.test(i.args)) {
          const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: dir, encoding: 'utf8', env: { ...process.env, INFERGRAPH_ROOT: dir } });
          assert.equal(built.status, 0, `npm run build in the replayed build stage:\n${built.stdout}\n${built.stderr}`);
        }
        break;
      default:
        break;
    }
  }
  return env;
}

/** node_modules as `npm ci --omit=dev` lays it out: a link per production package, none for dev ones. */
function linkProductionPackages(app: string): void {
  for (const name of productionPackages()) {
    const source = repoPath('node_modules', name);
    assert.ok(existsSync(source), `node_modules/${name} (a production package in package-lock.json) is installed`);
    const target = path.join(app, 'node_modules', name);
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(source, target, 'dir');
  }
}
