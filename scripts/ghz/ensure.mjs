// Makes sure ghz (a Go gRPC load generator) is built: the serving bench drives the gateway's V2 gRPC front end
// with it, as it drives HTTP with wrk (a compiled generator leaves the server most of the two cores; a grpc-js
// client in Node would not). Built from the Go module proxy into a cache outside the clone, reused after.
//   node scripts/ghz/ensure.mjs      → the ghz binary's path is the last stdout line; progress on stderr
// Cache: $INFERGRAPH_CACHE_DIR (default ~/.cache/infergraph)/ghz-v<version>/bin/ghz. Delete it to rebuild.
// Exits 1 with the reason when Go is missing or the build fails (the bench then skips the gRPC-driven rows).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheRoot } from '../lib/cache-root.mjs';
import { goBuildEnv, runLogged, withBuildLock } from '../lib/go-build.mjs';

const VERSION = '0.93.0';
const log = (m) => console.error(`[ghz] ${m}`);

const dir = path.join(cacheRoot(), `ghz-v${VERSION}`);
const bin = path.join(dir, 'bin', 'ghz');

/** Whether the cached binary runs (ghz --version exits 0). */
const runs = () => existsSync(bin) && spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;

async function build() {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('Go is not installed (needed once, to build ghz from the Go module proxy); install Go 1.22 or newer');
  }
  // Built into a scratch folder, then moved: an interrupted build never leaves a broken binary in place.
  const staging = path.join(dir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logFile = path.join(dir, 'build.log');
  writeFileSync(logFile, '');
  log(`building ghz v${VERSION} with go install (about a minute on 2 cores; log in ${logFile})…`);
  const started = Date.now();
  await runLogged('go', ['install', '-ldflags', `-s -w -X main.version=${VERSION}`, `github.com/bojand/ghz/cmd/ghz@v${VERSION}`], {
    cwd: os.tmpdir(),
    env: { ...goBuildEnv(dir), GOBIN: staging },
    logFile,
  });
  mkdirSync(path.dirname(bin), { recursive: true });
  renameSync(path.join(staging, 'ghz'), bin);
  rmSync(staging, { recursive: true, force: true });
  if (!runs()) throw new Error(`built, but ${bin} --version does not run`);
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
}

try {
  if (!runs()) {
    mkdirSync(dir, { recursive: true });
    await withBuildLock(dir, log, async () => {
      if (!runs()) await build();
    });
  }
  console.log(bin);
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
