import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './gateway.process';
import { repoPath } from './repo';
import { namedTempDir } from './temp-dir';

export interface RunningController {
  /** Admin REST API (and /metrics). */
  readonly base: string;
  /** host:port of the control plane (workers and gateways). */
  readonly control: string;
  readonly process: ChildProcess;
  output(): string;
  readonly ports: { port: number; controlPort: number };
}

/** Starts the real controller (dist/apps/controller/src/main.js) on free loopback ports, or the given ones. */
export async function startController(
  ports?: { port: number; controlPort: number },
  env: Record<string, string> = { GRAPHS_DIR: 'test/fixtures/graphs-cluster' },
): Promise<RunningController> {
  const [port, controlPort] = ports === undefined ? [await freePort(), await freePort()] : [ports.port, ports.controlPort];
  // Each controller gets a state directory of its own, kept across a restart on the same ports.
  const stateDir = namedTempDir(`infergraph-test-state-${controlPort}`, ports === undefined);
  const child = spawn(process.execPath, [repoPath('dist', 'apps', 'controller', 'src', 'main.js')], {
    cwd: repoPath(),
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), CONTROL_PORT: String(controlPort), HEARTBEAT_TIMEOUT_MS: '1500', LOG_FORMAT: 'json', STATE_DIR: stateDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = performance.now() + 20_000;
  while (!out.includes('controller admin API on')) {
    if (performance.now() > deadline || child.exitCode !== null) throw new Error(`controller did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base: `http://127.0.0.1:${port}`, control: `127.0.0.1:${controlPort}`, process: child, output: () => out, ports: { port, controlPort } };
}

