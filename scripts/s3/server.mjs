// A real S3-compatible server for tests and development: gofakes3 (MIT, in-memory) behind the small wrapper
// in this folder, built from the Go module proxy into a cache outside the clone and reused.
//   node scripts/s3/server.mjs ensure   build when missing; the binary's path is the last stdout line
//   node scripts/s3/server.mjs start [bucket,...]   start one detached on 127.0.0.1 (S3_PORT, default 19300)
//   node scripts/s3/server.mjs stop     stop the one `start` started
// Cache: $INFERGRAPH_CACHE_DIR (default ~/.cache/infergraph)/s3-gofakes3-<version>/. Delete it to rebuild.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../lib/cache-root.mjs';
import { goBuildEnv, runLogged, withBuildLock } from '../lib/go-build.mjs';

export const GOFAKES3_VERSION = 'v1.2.0';
const VERSION_LINE = `infergraph-s3 gofakes3-${GOFAKES3_VERSION}`;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const log = (line) => process.stderr.write(`[s3] ${line}\n`);

export function cacheDir() {
  return path.join(cacheRoot(), `s3-gofakes3-${GOFAKES3_VERSION}`);
}

function binaryOk(file) {
  if (!existsSync(file)) return 'missing';
  const r = spawnSync(file, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && r.stdout.trim() === VERSION_LINE ? undefined : `'${file} -version' does not print ${VERSION_LINE}`;
}

/** Builds the server when missing or not this version; returns the binary's path. */
export async function ensureS3Server() {
  const dir = cacheDir();
  const bin = path.join(dir, 'bin', 'infergraph-s3');
  if (binaryOk(bin) === undefined) return bin;
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  await withBuildLock(dir, log, async () => {
    const why = binaryOk(bin);
    if (why === undefined) return;
    const version = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (version.status !== 0) throw new Error('Go is needed to build the S3 test server (go not found on PATH)');
    const started = Date.now();
    const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    log(`building gofakes3 ${GOFAKES3_VERSION} (${why}) into ${bin} with ${version.stdout.trim()}; a cold build fetches its modules from the Go module proxy`);
    const src = path.join(dir, 'src');
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    for (const f of ['go.mod', 'go.sum', 'main.go']) copyFileSync(path.join(here, f), path.join(src, f));
    const env = goBuildEnv(dir);
    const logFile = path.join(dir, 'build.log');
    writeFileSync(logFile, '');
    log(`[1/2] go mod download (${secs()})`);
    await runLogged('go', ['mod', 'download'], { cwd: src, env, logFile });
    log(`[2/2] go build (${secs()})`);
    const tmp = `${bin}.${process.pid}.tmp`;
    await runLogged('go', ['build', '-p', '2', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: src, env, logFile });
    renameSync(tmp, bin);
    const after = binaryOk(bin);
    if (after !== undefined) throw new Error(`the S3 server was built but ${after}; see ${logFile}`);
    log(`built in ${secs()}`);
  });
  return bin;
}

/**
 * Starts a server on a free loopback port with these buckets; it exits with this process (or on stop()).
 * @returns {Promise<{endpoint: string, pid: number, stop: () => Promise<void>}>}
 */
export async function startS3Server({ buckets = [], bin, listen = '127.0.0.1:0', detached = false, logFile } = {}) {
  const binary = bin ?? (await ensureS3Server());
  const args = ['-listen', listen, '-buckets', buckets.join(','), ...(detached ? [] : ['-watch-parent'])];
  const err = logFile === undefined ? 'inherit' : openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', err], detached });
  const endpoint = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /^listening (http:\/\/\S+)$/.exec(line.trim());
      if (m) resolve(m[1]);
    });
    child.once('exit', (code, signal) => reject(new Error(`the S3 server exited (${code ?? signal}) before listening`)));
    child.once('error', reject);
  });
  if (detached) {
    child.stdout.destroy();
    child.unref();
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { endpoint, pid: child.pid, stop };
}

const stateDir = path.join(root, '.cache', 's3');
const pidFile = path.join(stateDir, 'server.pid');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, buckets = 'models'] = process.argv.slice(2);
  try {
    if (command === 'ensure') {
      console.log(await ensureS3Server());
    } else if (command === 'start') {
      mkdirSync(stateDir, { recursive: true });
      const port = Number(process.env.S3_PORT ?? 19300);
      const server = await startS3Server({ buckets: buckets.split(','), listen: `127.0.0.1:${port}`, detached: true, logFile: path.join(stateDir, 'server.log') });
      writeFileSync(pidFile, String(server.pid));
      log(`started (pid ${server.pid}) with buckets ${buckets}; S3_ENDPOINT=${server.endpoint} S3_FORCE_PATH_STYLE=true (any AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`);
      console.log(server.endpoint);
    } else if (command === 'stop') {
      if (!existsSync(pidFile)) log('no server started by this script');
      else {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        try { process.kill(pid, 'SIGTERM'); log(`stopped (pid ${pid})`); } catch { log(`pid ${pid} was not running`); }
        rmSync(pidFile, { force: true });
      }
    } else {
      console.error('usage: node scripts/s3/server.mjs ensure | start [bucket,...] | stop');
      process.exit(2);
    }
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}
