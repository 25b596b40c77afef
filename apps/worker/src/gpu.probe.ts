import { execFileSync } from 'node:child_process';

/** GPUs from `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits` (MiB per line). */
export function parseNvidiaSmiMemory(text: string): { count: number; memoryBytes: number } {
  const mib = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => Number(l));
  if (mib.some((m) => !Number.isFinite(m) || m < 0)) throw new Error(`unexpected nvidia-smi output: ${JSON.stringify(text.slice(0, 200))}`);
  return { count: mib.length, memoryBytes: mib.reduce((a, b) => a + b, 0) * 1024 * 1024 };
}

/** The GPUs of this machine, or none when nvidia-smi is absent or fails. */
export function probeGpus(): { count: number; memoryBytes: number } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    return parseNvidiaSmiMemory(out);
  } catch {
    return { count: 0, memoryBytes: 0 };
  }
}
