// Compiles apps/, libs/ and test/ into dist/ and rewrites the @infergraph/* path aliases
// into relative requires, so the output runs on plain node without a loader.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(label, cmd, args) {
  const started = Date.now();
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[build] ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  if (process.env.BUILD_VERBOSE) console.error(`[build] ${label} ${Date.now() - started} ms`);
}

run('tsc', bin('tsc'), ['-p', 'tsconfig.json']);
run('tsc-alias', bin('tsc-alias'), ['-p', 'tsconfig.json']);
