import { spawn } from 'node:child_process';
import { repoPath } from './repo';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `infergraph` binary (bin/infergraph.mjs, as npx runs it) as a subprocess, to its exit. */
export function runInfergraph(args: readonly string[], options: { env?: Record<string, string>; input?: string; cwd?: string; bin?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [options.bin ?? repoPath('bin', 'infergraph.mjs'), ...args], {
    cwd: options.cwd ?? repoPath(),
    // No INFERGRAPH_* or config file from the machine running the tests leaks in.
    env: { ...process.env, INFERGRAPH_CONTROLLER: '', INFERGRAPH_TOKEN: '', INFERGRAPH_GATEWAY: '', INFERGRAPH_CONFIG: '', XDG_CONFIG_HOME: '/nonexistent', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
