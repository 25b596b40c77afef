// Compiles apps/, libs/ and test/ into dist/ and rewrites the @infergraph/* path aliases
// into relative requires, so the output runs on plain node without a loader.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(label, cmd, args) {
  const started = Date.now();
  if (!existsSync(cmd)) {
    console.error(`[build] ${label} is not installed (${path.relative(root, cmd)} is missing): run \`npm ci\` first`);
    process.exit(1);
  }
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[build] ${label} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
    process.exit(result.status ?? 1);
  }
  if (process.env.BUILD_VERBOSE) console.error(`[build] ${label} ${Date.now() - started} ms`);
}

run('tsc', bin('tsc'), ['-p', 'tsconfig.json']);
run('tsc-alias', bin('tsc-alias'), ['-p', 'tsconfig.json']);

// tsc never deletes the output of a deleted source: remove it, so a stale spec cannot run as a test.
function pruneStale(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) pruneStale(full);
    else if (entry.name.endsWith('.js')) {
      const source = path.join(root, path.relative(path.join(root, 'dist'), full)).replace(/\.js$/, '.ts');
      if (!existsSync(source)) {
        rmSync(full);
        rmSync(`${full}.map`, { force: true });
      }
    }
  }
}
if (existsSync(path.join(root, 'dist'))) pruneStale(path.join(root, 'dist'));

// Protocol definitions travel with the compiled libraries that load them at run time.
for (const lib of readdirSync(path.join(root, 'libs'))) {
  const proto = path.join(root, 'libs', lib, 'proto');
  if (existsSync(proto)) cpSync(proto, path.join(root, 'dist', 'libs', lib, 'proto'), { recursive: true });
}

// The web dashboards' static files (apps/<app>/ui) go next to the compiled apps that serve them, with the
// browser build of elkjs (the gateway draws graphs with it; nothing is fetched from the network at run time).
// libs/dashboard/ui holds what both dashboards use (stylesheet, DOM helpers).
for (const app of readdirSync(path.join(root, 'apps'))) {
  const ui = path.join(root, 'apps', app, 'ui');
  if (!existsSync(ui)) continue;
  cpSync(path.join(root, 'libs', 'dashboard', 'ui'), path.join(root, 'dist', 'apps', app, 'ui'), { recursive: true });
  cpSync(ui, path.join(root, 'dist', 'apps', app, 'ui'), { recursive: true });
}
cpSync(path.join(root, 'node_modules', 'elkjs', 'lib', 'elk.bundled.js'), path.join(root, 'dist', 'apps', 'gateway', 'ui', 'elk.bundled.js'));
