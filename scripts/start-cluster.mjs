// `npm run start:cluster`: a controller, two CPU-pool workers, one GPU-labelled worker and the gateway,
// each a separate OS process on loopback, serving graphs/. Ctrl-C stops them all.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (app) => path.join(root, 'dist', 'apps', app, 'src', 'main.js');
const controller = '127.0.0.1:9000';
const processes = [
  ['controller', dist('controller'), { PORT: '8090', CONTROL_PORT: '9000', HEARTBEAT_TIMEOUT_MS: '3000' }],
  ['cpu-0', dist('worker'), { WORKER_PORT: '9001', WORKER_ID: 'cpu-0', WORKER_POOL: 'cpu', WORKER_CPU: '8', WORKER_MEMORY: String(8 * 1024 ** 3) }],
  ['cpu-1', dist('worker'), { WORKER_PORT: '9002', WORKER_ID: 'cpu-1', WORKER_POOL: 'cpu', WORKER_CPU: '8', WORKER_MEMORY: String(8 * 1024 ** 3) }],
  ['gpu-0', dist('worker'), { WORKER_PORT: '9003', WORKER_ID: 'gpu-0', WORKER_POOL: 'gpu', WORKER_CPU: '4', WORKER_MEMORY: String(8 * 1024 ** 3), WORKER_GPUS: '1', WORKER_GPU_MEMORY: String(8 * 1024 ** 3) }],
  ['gateway', dist('gateway'), { PORT: process.env.PORT ?? '8080', GRPC_PORT: process.env.GRPC_PORT ?? '8081' }],
];

const children = processes.map(([name, script, env]) => {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', GRAPHS_DIR: 'graphs', CONTROLLER: name === 'controller' ? '' : controller, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}]`.padEnd(13);
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) console.log(`${prefix} ${line}`);
    });
  }
  child.on('exit', (code, signal) => console.log(`${prefix} exited (${signal ?? code})`));
  return child;
});

console.log('[cluster] REST http://127.0.0.1:8080, gRPC 127.0.0.1:8081, cluster status http://127.0.0.1:8090/v1/cluster');
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 1500).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
