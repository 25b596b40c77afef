// One way to make sure a Debian package's commands are on PATH, for the scripts/<tool>/ensure.mjs files:
// nothing to do when they run already; otherwise apt-get install (root or passwordless sudo), refreshing
// the package lists once if the first try fails. Prints what it does; exits 1 with the reason when it cannot.
import { spawnSync } from 'node:child_process';

/** Whether `bin --version` ran at all (some tools, e.g. wrk, exit 1 after printing their version). */
export function runs(bin) {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status !== null;
}

/** Installs `pkg` unless every command in `bins` already runs; `why` says what it is for. */
export function ensureDebianPackage({ pkg, bins, why }) {
  const log = (m) => console.error(`[${pkg}] ${m}`);
  if (bins.every(runs)) return;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
  if (sudo === undefined) {
    log(`${bins.join('/')} not installed and this user cannot run apt-get (not root, no passwordless sudo).`);
    log(`install it yourself: apt-get install ${pkg} (Debian/Ubuntu), or put ${bins.join(' and ')} on PATH`);
    process.exit(1);
  }
  const apt = (args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    const r = spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.error !== undefined) log(`${cmd} did not run: ${r.error.message}`);
    return r.status === 0;
  };
  log(`installing Debian package ${pkg} (${why})…`);
  const started = Date.now();
  const install = ['install', '-y', '-q', '--no-install-recommends', pkg];
  if (!apt(install)) {
    log('install failed; refreshing the package lists and trying again…');
    if (!apt(['update', '-q']) || !apt(install)) {
      log(`apt-get could not install ${pkg}; see the messages above`);
      process.exit(1);
    }
  }
  if (!bins.every(runs)) {
    log(`the package installed but ${bins.join('/')} still not on PATH`);
    process.exit(1);
  }
  log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
}
