// What every script that builds a test tool from the Go module proxy needs: the cache root outside the clone,
// a build lock per cache directory, a reproducible Go environment and commands run into a build log.
import { spawn } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `$INFERGRAPH_CACHE_DIR`, default `~/.cache/infergraph`: tools built once and reused by every clone. */
export function cacheRoot() {
  return process.env.INFERGRAPH_CACHE_DIR || path.join(os.homedir(), '.cache', 'infergraph');
}

export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `<dir>/.lock` (the holder's pid): one builder at a time per cache directory, so parallel
 * test files wait for one build instead of racing; a dead holder's lock is taken over.
 */
export async function withBuildLock(dir, log, fn) {
  const lock = path.join(dir, '.lock');
  for (let waited = false; ;) {
    // The pid is written first and the lock made by a hard link to it, so a lock never exists without its
    // holder's pid (a reader of a half-written lock would take it over).
    const mine = `${lock}.${process.pid}`;
    writeFileSync(mine, String(process.pid));
    try {
      linkSync(mine, lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder;
      try {
        holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      } catch (readErr) {
        if (readErr.code === 'ENOENT') continue; // released meanwhile
        throw readErr;
      }
      if (!Number.isInteger(holder) || !pidAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!waited) {
        waited = true;
        log(`waiting for the build held by pid ${holder} (${lock})`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      rmSync(mine, { force: true });
    }
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
