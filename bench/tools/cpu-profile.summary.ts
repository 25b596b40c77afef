// Top self-time functions and packages of a V8 CPU profile (node --cpu-prof), e.g. of a gateway profiled
// by `BENCH_CPU_PROF=<dir> npm run bench -- serving`:
//   node dist/bench/tools/cpu-profile.summary.js <file.cpuprofile> [top=25] [skip-first-s=0]
// skip-first-s leaves out the samples of the first seconds (start-up: module loading, graph loading).
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script belongs: a node_modules package, an infergraph lib/app, node internals, or the file. */
function ownerOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const own = /dist\/((?:libs|apps|bench)\/[^/]+)/.exec(url);
  return own?.[1] ?? path.basename(url);
}

function main(): void {
  const [file, topArg, skipArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpu-profile.summary.js <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const skipUs = Number(skipArg ?? 0) * 1e6;
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const owner = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame;
    if (f === undefined) continue;
    const where = f.url === '' ? '' : ` ${path.basename(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where} [${ownerOf(f.url)}]`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    owner.set(ownerOf(f.url), (owner.get(ownerOf(f.url)) ?? 0) + us);
  }
  const print = (title: string, m: Map<string, number>, n: number): void => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  };
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
  print('self time by package / library', owner, 15);
  print(`top ${top} functions by self time`, fn, top);
}

main();
