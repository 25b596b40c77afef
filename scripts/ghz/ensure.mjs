// Makes sure ghz (a Go gRPC load generator) is built: the serving bench drives the gateway's V2 gRPC front end
// with it, as it drives HTTP with wrk (a compiled generator leaves the server most of the two cores; a grpc-js
// client in Node would not). Built from the Go module proxy into a cache outside the clone, reused after.
//   node scripts/ghz/ensure.mjs      → the ghz binary's path is the last stdout line; progress on stderr
// Cache: $INFERGRAPH_CACHE_DIR (default ~/.cache/infergraph)/ghz-v<version>/bin/ghz. Delete it to rebuild.
// Exits 1 with the reason when Go is missing or the build fails (the bench then skips the gRPC-driven rows).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const VERSION = '0.93.0';
const log = (m) => console.error(`[ghz] ${m}`);

const base = process.env.INFERGRAPH_CACHE_DIR || path.join(os.homedir(), '.cache', 'infergraph');
const dir = path.join(base, `ghz-v${VERSION}`);
const bin = path.join(dir, 'bin', 'ghz');

/** Whether the cached binary runs (ghz --version exits 0). */
const runs = () => existsSync(bin) && spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;

if (!runs()) {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    log('Go is not installed (needed once, to build ghz from the Go module proxy); install Go 1.22 or newer');
    process.exit(1);
  }
  // Built into a scratch folder, then moved: an interrupted build never leaves a broken binary in place.
  const staging = path.join(dir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logFile = path.join(dir, 'build.log');
  log(`building ghz v${VERSION} with go install (about a minute on 2 cores; log in ${logFile})…`);
  const started = Date.now();
  const out = openSync(logFile, 'w');
  const r = spawnSync('go', ['install', '-ldflags', `-s -w -X main.version=${VERSION}`, `github.com/bojand/ghz/cmd/ghz@v${VERSION}`], {
    cwd: os.tmpdir(),
    env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (r.status !== 0) {
    log(`go install failed (exit ${r.status ?? r.signal}); see ${logFile}`);
    process.exit(1);
  }
  mkdirSync(path.dirname(bin), { recursive: true });
  renameSync(path.join(staging, 'ghz'), bin);
  rmSync(staging, { recursive: true, force: true });
  if (!runs()) {
    log(`built, but ${bin} --version does not run`);
    process.exit(1);
  }
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
}
console.log(bin);
