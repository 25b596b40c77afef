// Makes sure Prometheus and promtool are installed (the e2e tests scrape real processes with them).
// Found on PATH: nothing to do. Otherwise installs Debian's `prometheus` package with apt-get (needs
// root); prints what it does and fails with the reason when it cannot.
import { spawnSync } from 'node:child_process';

const log = (m) => console.error(`[prometheus] ${m}`);
const has = (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;

if (has('prometheus') && has('promtool')) process.exit(0);

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = asRoot ? [] : spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
if (sudo === undefined) {
  log('prometheus/promtool are not installed and this user cannot run apt-get (not root, no passwordless sudo).');
  log('install them yourself: apt-get install prometheus (Debian/Ubuntu), or put both binaries on PATH');
  process.exit(1);
}
const apt = (args) => {
  const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
  return spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
};
log('installing Debian package prometheus (for promtool and a real scrape in the e2e tests)…');
const started = Date.now();
if (!apt(['install', '-y', '-q', '--no-install-recommends', 'prometheus'])) {
  log('install failed; refreshing the package lists and trying again…');
  if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', 'prometheus'])) {
    log('apt-get could not install prometheus; see the messages above');
    process.exit(1);
  }
}
if (!has('prometheus') || !has('promtool')) {
  log('the package installed but prometheus/promtool are still not on PATH');
  process.exit(1);
}
log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
