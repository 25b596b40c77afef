// Loaded with --import into every test file's process when scripts/run-tests.mjs runs files side by side
// (TEST_CONCURRENCY > 1). A file named in INFERGRAPH_TEST_ALONE runs alone: it waits until no other file runs,
// and no file starts while it runs. Every other file shares the machine. Files whose assertions hold a
// time window under load (a re-placement within 2 s, a load generator reaching its rate) are named there.
//
// The lanes are files in INFERGRAPH_TEST_LANES (a directory the run owns): `shared-<pid>` for each file that
// shares, and the directory `alone` (mkdir is atomic) holding `pid` for the one that runs alone. A process
// that died without removing its entry (kill -9) is recognised by its pid and ignored.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { pidAlive } from './lib/go-build.mjs';

const POLL_MS = 200;

/** The pid that runs alone now, or undefined (an entry of a dead process is removed). */
function aloneHolder(dir) {
  const lock = path.join(dir, 'alone');
  let pid;
  try {
    pid = Number.parseInt(readFileSync(path.join(lock, 'pid'), 'utf8'), 10);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    // Made, its pid not written yet: held. Gone: free.
    try {
      readdirSync(lock);
      return -1;
    } catch {
      return undefined;
    }
  }
  if (Number.isInteger(pid) && pidAlive(pid)) return pid;
  rmSync(lock, { recursive: true, force: true });
  return undefined;
}

function othersSharing(dir) {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const pid = /^shared-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    if (pidAlive(Number(pid))) n += 1;
    else rmSync(path.join(dir, name), { force: true });
  }
  return n;
}

async function share(dir) {
  const mine = path.join(dir, `shared-${process.pid}`);
  for (;;) {
    if (aloneHolder(dir) === undefined) {
      writeFileSync(mine, '');
      // A file that took `alone` between the check and the write waits for this one; step back and let it run.
      if (aloneHolder(dir) === undefined) break;
      rmSync(mine, { force: true });
    }
    await sleep(POLL_MS);
  }
  process.on('exit', () => rmSync(mine, { force: true }));
}

async function runAlone(dir) {
  const lock = path.join(dir, 'alone');
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      aloneHolder(dir); // clears the entry of a holder that died
      await sleep(POLL_MS);
    }
  }
  process.on('exit', () => rmSync(lock, { recursive: true, force: true }));
  // No new file starts now; wait for those already running to end.
  while (othersSharing(dir) > 0) await sleep(POLL_MS);
}

const dir = process.env.INFERGRAPH_TEST_LANES;
const file = process.argv[1] ?? '';
// NODE_TEST_CONTEXT marks the runner's child processes, one per test file (the runner itself takes no lane);
// the processes a test starts (gateways, workers) may inherit it and this module, but are not test files, and
// a test file's worker threads load this module again but belong to its lane.
if (dir && isMainThread && process.env.NODE_TEST_CONTEXT && /\.(test|spec)\.js$/.test(file)) {
  const alone = (process.env.INFERGRAPH_TEST_ALONE ?? '').split(',').includes(path.basename(file));
  if (alone) await runAlone(dir);
  else await share(dir);
}
