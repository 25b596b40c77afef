// `npm run bench`: builds, then runs every compiled benchmark in dist/bench/ in its own process.
// `npm run bench -- serving` runs only those whose file name starts with "serving".
// Tools a benchmark needs are installed first (scripts/<tool>/ensure.mjs); a benchmark whose tool cannot be
// installed does not run and counts as failed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'bench');
const only = process.argv[2];
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (only === undefined || f.startsWith(only))).sort();
if (files.length === 0) {
  console.error(`[bench] no benchmark in dist/bench/ starts with "${only}"`);
  process.exit(1);
}
/** Per compiled benchmark, the tools it runs; each has scripts/<tool>/ensure.mjs. */
const NEEDS = { 'serving.bench.js': ['wrk'] };
/** Per compiled benchmark, tools whose rows are skipped (with the reason) when they cannot be built: name -> env variable given their path. */
const WANTS = { 'serving.bench.js': { ghz: 'INFERGRAPH_GHZ' } };
const ensured = new Map();
const ensure = (tool) => {
  if (!ensured.has(tool)) ensured.set(tool, spawnSync(process.execPath, [path.join(root, 'scripts', tool, 'ensure.mjs')], { cwd: root, stdio: 'inherit' }).status === 0);
  return ensured.get(tool);
};
let failed = 0;
for (const f of files) {
  console.log(`[bench] ${f}`);
  const missing = (NEEDS[f] ?? []).filter((tool) => !ensure(tool));
  if (missing.length > 0) {
    console.error(`[bench] ${f} not run: it needs ${missing.join(', ')} (scripts/${missing[0]}/ensure.mjs, above)`);
    failed++;
    continue;
  }
  const env = { ...process.env };
  for (const [tool, variable] of Object.entries(WANTS[f] ?? {})) {
    // The ensure script prints the tool's path as its last stdout line; its progress goes to stderr.
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', tool, 'ensure.mjs')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    env[variable] = r.status === 0 ? (r.stdout.trim().split('\n').pop() ?? '') : '';
    if (r.status !== 0) console.error(`[bench] ${f}: the rows that need ${tool} will be skipped`);
  }
  const r = spawnSync(process.execPath, [path.join(dir, f)], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
