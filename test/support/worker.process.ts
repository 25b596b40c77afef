import { spawn, type ChildProcess } from 'node:child_process';
import { repoPath } from './repo';
import { freePort } from './gateway.process';

export interface RunningWorker {
  readonly address: string;
  /** Base URL of its GET /metrics endpoint (any free port unless METRICS_PORT is given). */
  readonly metricsUrl: string | undefined;
  readonly process: ChildProcess;
  output(): string;
  /** SIGKILL: the worker dies without any shutdown. */
  kill(): Promise<void>;
}

/** Starts a real worker process (dist/apps/worker/src/main.js) on a free loopback port. */
export async function startWorker(env: Record<string, string> = {}, timeoutMs = 30_000): Promise<RunningWorker> {
  const port = await freePort();
  const child = spawn(process.execPath, [repoPath('dist', 'apps', 'worker', 'src', 'main.js')], {
    cwd: repoPath(),
    env: { ...process.env, HOST: '127.0.0.1', LOG_FORMAT: 'json', METRICS_PORT: '0', ...env, WORKER_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout.on('data', () => {
      if (out.includes('worker listening on grpc://')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${out}`));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    metricsUrl: /metrics on (http:\/\/[\d.]+:\d+)\/metrics/.exec(out)?.[1],
    process: child,
    output: () => out,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
