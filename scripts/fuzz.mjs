// The long fuzz run: the property-based fuzz tests (dist/test/integration/fuzz/, dist/test/e2e/gateway-fuzz)
// with many more inputs than `npm test` gives them, from a fresh random seed it prints first.
//   npm run fuzz                          every fuzz test, FUZZ_RUNS inputs per property (default 5000)
//   FUZZ_SEED=123 npm run fuzz            replay a run (same FUZZ_RUNS too, for the same inputs)
//   npm run fuzz -- grpc-request          only the fuzz test files whose name contains one of the words
// A failure prints fast-check's counterexample with the seed and the path of the shrunk input.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = path.join(root, 'dist', 'test', 'integration', 'fuzz');
const gatewayFuzz = path.join(root, 'dist', 'test', 'e2e', 'gateway-fuzz.test.js');

if (!existsSync(fuzzDir)) {
  console.error('[fuzz] no compiled fuzz tests in dist/test/integration/fuzz (did the build run?)');
  process.exit(1);
}
const filters = process.argv.slice(2);
const files = [...readdirSync(fuzzDir).filter((f) => f.endsWith('.test.js')).map((f) => path.join(fuzzDir, f)), gatewayFuzz].filter(
  (f) => existsSync(f) && (filters.length === 0 || filters.some((word) => path.basename(f).includes(word))),
);
if (files.length === 0) {
  console.error(`[fuzz] no fuzz test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const seed = process.env.FUZZ_SEED || String(randomInt(0, 2 ** 31));
const runs = process.env.FUZZ_RUNS || '5000';
// Printed first, and again last: the line to copy when something fails.
const replay = `FUZZ_SEED=${seed} FUZZ_RUNS=${runs} npm run fuzz${filters.length > 0 ? ` -- ${filters.join(' ')}` : ''}`;
console.error(`[fuzz] ${files.length} files, seed ${seed}, ${runs} inputs per property; replay with: ${replay}`);
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, INFERGRAPH_ROOT: root, FUZZ_SEED: seed, FUZZ_RUNS: runs },
});
console.error(`[fuzz] ${result.status === 0 ? 'passed' : 'FAILED'}; replay with: ${replay}`);
process.exit(result.status ?? 1);
