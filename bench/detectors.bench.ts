// Detector benchmark: time per drift window for the sizes issue 4 names, in-process on one core.
//   KS over a window of 1,000 rows x 30 features (reference 1,000 x 30)
//   MMD with 1,000 permutations on 200 x 10 (reference 200 x 10)
// Run by `npm run bench` (scripts/bench.mjs); prints a table and writes bench/results/detectors.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { detectDrift } from '@infergraph/detectors';

function gaussianColumns(rows: number, cols: number, seed: number, shift = 0): Float64Array[] {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: cols }, () =>
    Float64Array.from({ length: rows }, () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) + shift),
  );
}

interface Case {
  readonly name: string;
  readonly run: () => void;
}

const ks = { reference: gaussianColumns(1000, 30, 1), window: gaussianColumns(1000, 30, 2, 0.05) };
const mmd = { reference: gaussianColumns(200, 10, 3), window: gaussianColumns(200, 10, 4, 0.1) };
const options = { pValue: 0.05, correction: 'bonferroni' as const, ksMode: 'auto' as const, permutations: 1000, seed: 0 };

const cases: Case[] = [
  { name: 'ks 1000x30 (auto: exact p-values)', run: () => detectDrift('ks', ks.reference, ks.window, options) },
  { name: 'ks 1000x30 (asymp p-values)', run: () => detectDrift('ks', ks.reference, ks.window, { ...options, ksMode: 'asymp' }) },
  { name: 'mmd 200x10, 1000 permutations', run: () => detectDrift('mmd', mmd.reference, mmd.window, options) },
];

function measure(c: Case): { name: string; iterations: number; meanMs: number; minMs: number } {
  c.run(); // warm-up
  const times: number[] = [];
  const budgetEnd = performance.now() + 3000;
  while (times.length < 5 || (performance.now() < budgetEnd && times.length < 50)) {
    const t0 = performance.now();
    c.run();
    times.push(performance.now() - t0);
  }
  return { name: c.name, iterations: times.length, meanMs: times.reduce((a, b) => a + b, 0) / times.length, minMs: Math.min(...times) };
}

const results = cases.map(measure);
console.log('\ndrift detectors: time per window (one core, in-process)');
console.log('| case | runs | mean ms | min ms |');
console.log('|---|---|---|---|');
for (const r of results) console.log(`| ${r.name} | ${r.iterations} | ${r.meanMs.toFixed(1)} | ${r.minMs.toFixed(1)} |`);
const outDir = path.resolve(__dirname, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'detectors.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
