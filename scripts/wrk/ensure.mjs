// Makes sure wrk is installed (the serving bench drives its HTTP load with it: a C load generator costs a
// fraction of the CPU a Node one does, which matters when it shares two cores with the server it measures).
// Found on PATH: nothing to do. Otherwise installs Debian's `wrk` package with apt-get (needs root or
// passwordless sudo); prints what it does and fails with the reason when it cannot.
import { spawnSync } from 'node:child_process';

const log = (m) => console.error(`[wrk] ${m}`);
// `wrk --version` prints its version and exits 1; what matters is that it ran.
const has = (bin) => {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status !== null;
};

if (has('wrk')) process.exit(0);

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = asRoot ? [] : spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
if (sudo === undefined) {
  log('wrk is not installed and this user cannot run apt-get (not root, no passwordless sudo).');
  log('install it yourself: apt-get install wrk (Debian/Ubuntu), or put a wrk binary on PATH');
  process.exit(1);
}
const apt = (args) => {
  const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
  const r = spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error !== undefined) log(`${cmd} did not run: ${r.error.message}`);
  return r.status === 0;
};
log('installing Debian package wrk (the serving bench\'s HTTP load generator)…');
const started = Date.now();
if (!apt(['install', '-y', '-q', '--no-install-recommends', 'wrk'])) {
  log('install failed; refreshing the package lists and trying again…');
  if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', 'wrk'])) {
    log('apt-get could not install wrk; see the messages above');
    process.exit(1);
  }
}
if (!has('wrk')) {
  log('the package installed but wrk is still not on PATH');
  process.exit(1);
}
log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
