// `npm run bench`: builds, then runs every compiled benchmark in dist/bench/ in its own process.
// `npm run bench -- serving` runs only those whose file name starts with "serving".
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
let failed = 0;
for (const f of files) {
  console.log(`[bench] ${f}`);
  const r = spawnSync(process.execPath, [path.join(dir, f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
