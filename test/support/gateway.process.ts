import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port';
import { repoPath } from './repo';

export { freePort, freeStartClusterControlPort } from './free-port';

export interface RunningGateway {
  readonly baseUrl: string;
  /** host:port of the V2 gRPC endpoint. */
  readonly grpcAddress: string;
  readonly process: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real gateway (dist/apps/gateway/src/main.js) as a separate process on a free
 * loopback port and waits until it listens and, unless told otherwise, until its graphs settled.
 */
export async function startGateway(
  env: Record<string, string> = {},
  options: { waitReady?: boolean; timeoutMs?: number } = {},
): Promise<RunningGateway> {
  const grpcPort = env['GRPC_PORT'] ?? String(await freePort());
  const child = spawn(process.execPath, [repoPath('dist', 'apps', 'gateway', 'src', 'main.js')], {
    cwd: repoPath(),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', ...env, GRPC_PORT: grpcPort },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (): void => {
      const m = /listening on (https?:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${out}`));
    });
  });
  const gateway: RunningGateway = {
    baseUrl,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    process: child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          // A gateway should finish its shutdown well within a pod's grace: say so when one did not.
          console.log(`[support] gateway pid ${child.pid} still running 5 s after SIGTERM: SIGKILL`);
          child.kill('SIGKILL');
        }, 5000).unref();
      }),
  };
  if (options.waitReady ?? true) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${baseUrl}/v2/health/ready`).catch(() => undefined);
      if (res?.status === 200) break;
      if (performance.now() > deadline) {
        await gateway.stop();
        throw new Error(`gateway not ready within ${timeoutMs} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return gateway;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly raw: Buffer;
}

export async function request(
  gateway: RunningGateway,
  method: string,
  route: string,
  body?: string | Buffer | object,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(`${gateway.baseUrl}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  let parsed: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(raw.toString('utf8'));
  return { status: res.status, headers: res.headers, body: parsed, raw };
}

