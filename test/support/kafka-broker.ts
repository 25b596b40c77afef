import { spawnSync } from 'node:child_process';
import { repoPath } from './repo';

// The project's broker script (scripts/kafka/broker.mjs) driven from tests and benches: one place that runs
// it and reads the address it prints.

/** Runs `broker.mjs <args>` and returns the last host:port it printed (stdout); throws with its stderr on failure. */
export function brokerScript(...args: string[]): string {
  const r = spawnSync(process.execPath, [repoPath('scripts', 'kafka', 'broker.mjs'), ...args], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`scripts/kafka/broker.mjs ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[\w.-]+:\d+$/.test(l)).pop() ?? '';
}

/** A throwaway broker on two free ports (scripts/lib/free-port.mjs): its bootstrap address. */
export function startFreePortBroker(): string {
  const address = brokerScript('start', '--free-port');
  if (address === '') throw new Error('scripts/kafka/broker.mjs start --free-port printed no address');
  return address;
}
