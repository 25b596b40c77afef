// Loaded with --import into every test file's process when scripts/run-tests.mjs runs files side by side
// (TEST_CONCURRENCY > 1). A file named in INFERGRAPH_TEST_ALONE runs alone: it waits until no other file runs,
// and no file starts while it runs. Every other file shares the machine. Files whose assertions hold a
// time window under load (a re-placement within 2 s, a load generator reaching its rate) are named there.
// Every file also takes a lane number (INFERGRAPH_TEST_LANE, below INFERGRAPH_TEST_LANE_COUNT), which its
// processes inherit: scripts/lib/free-port.mjs gives each lane ports of its own, so a port one file picked
// for a process that binds later is never taken by the file beside it.
//
// The lanes are files in INFERGRAPH_TEST_LANES (a directory the run owns): `shared-<pid>` for each file that
// shares, the lock `alone` for the one that runs alone, and a lock `lane-<n>` for each lane number taken
// (scripts/lib/pid-lock.mjs). A process that died without removing its entry (kill -9) is recognised by its
// pid and ignored.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { pidAlive, pidLockHolder, tryPidLock } from './lib/pid-lock.mjs';

const POLL_MS = 200;

/** Takes the lock `lock` for this process (false while another holds it) and gives it back at exit. */
function tryLock(lock) {
  if (!tryPidLock(lock)) return false;
  process.on('exit', () => rmSync(lock, { force: true }));
  return true;
}

const aloneHolder = (dir) => pidLockHolder(path.join(dir, 'alone'));

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
  while (!tryLock(path.join(dir, 'alone'))) await sleep(POLL_MS);
  // No new file starts now; wait for those already running to end.
  while (othersSharing(dir) > 0) await sleep(POLL_MS);
}

/** The lowest lane number free now (no more files run at once than there are lanes; one that just ended may
 * not have removed its entry yet). */
async function takeLane(dir, count) {
  for (;;) {
    for (let n = 0; n < count; n++) {
      if (tryLock(path.join(dir, `lane-${n}`))) return n;
    }
    await sleep(POLL_MS);
  }
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
  const count = Number(process.env.INFERGRAPH_TEST_LANE_COUNT);
  if (Number.isInteger(count) && count > 1) process.env.INFERGRAPH_TEST_LANE = String(await takeLane(dir, count));
}
