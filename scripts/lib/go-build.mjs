// What every script that builds a test tool from the Go module proxy needs (in a directory under
// cache-root.mjs's cacheRoot): a build lock per cache directory, a reproducible Go environment and commands run
// into a build log.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pidLockHolder, tryPidLock } from './pid-lock.mjs';

/**
 * Runs `fn` holding `<dir>/.lock` (the holder's pid): one builder at a time per cache directory, so parallel
 * test files wait for one build instead of racing; a dead holder's lock is taken over.
 */
export async function withBuildLock(dir, log, fn) {
  const lock = path.join(dir, '.lock');
  for (let waited = false; !tryPidLock(lock); ) {
    const holder = pidLockHolder(lock);
    if (holder === undefined) continue; // released, or its holder died: try again at once
    if (!waited) {
      waited = true;
      log(`waiting for the build held by pid ${holder} (${lock})`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The environment of a build into `dir`: static binaries, the local toolchain only, Go's temp files beside the cache. */
export function goBuildEnv(dir) {
  const env = {
    ...process.env,
    GOFLAGS: '-trimpath -buildvcs=false -mod=mod',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOWORK: 'off',
    GOTMPDIR: path.join(dir, '.gotmp'),
  };
  mkdirSync(env.GOTMPDIR, { recursive: true });
  return env;
}

/** Runs `cmd args` in `cwd` with its output appended to `logFile`; a failure's error carries the log's tail. */
export function runLogged(cmd, args, { cwd, env, logFile }) {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    writeSync(fd, `\n$ (cd ${cwd} && ${cmd} ${args.join(' ')})\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd] });
    child.on('error', (err) => {
      closeSync(fd);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      closeSync(fd);
      if (code === 0) return resolve();
      let tail = '';
      try {
        tail = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        // no log to show
      }
      reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}) in ${cwd}; log ${logFile}:\n${tail}`));
    });
  });
}
