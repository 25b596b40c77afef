// `npm run start:cluster`: a controller, two CPU-pool workers, one GPU-labelled worker and the gateway,
// each a separate OS process on loopback, serving graphs/. Ctrl-C stops them all.
// Authentication is on: development credentials are made once under .infergraph/dev-credentials/ (a join
// token per component, bound to its worker id by the controller, and an admin API token) and reused.
// Ports: PORT (REST, 8080), GRPC_PORT (8081), ADMIN_PORT (8090), CONTROL_PORT (9000; workers take the next three).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (app) => path.join(root, 'dist', 'apps', app, 'src', 'main.js');
const controlPort = Number(process.env.CONTROL_PORT ?? 9000);
const adminPort = process.env.ADMIN_PORT ?? '8090';
const controller = `127.0.0.1:${controlPort}`;
const components = ['cpu-0', 'cpu-1', 'gpu-0', 'gateway'];

/** The development credentials: made on first use (mode 0600), then read back; never replaced. */
function devCredentials() {
  const dir = path.resolve(root, process.env.INFERGRAPH_DEV_DIR ?? '.infergraph/dev-credentials');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name) => path.join(dir, name);
  const secret = () => randomBytes(24).toString('hex');
  if (!existsSync(file('cluster-tokens'))) {
    const lines = components.map((c) => `${c}:${secret()}`);
    writeFileSync(file('cluster-tokens'), `# development join tokens, one per component (<name>:<token>)\n${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  }
  if (!existsSync(file('admin-token'))) writeFileSync(file('admin-token'), `${secret()}\n`, { mode: 0o600, flag: 'wx' });
  const tokens = new Map(
    readFileSync(file('cluster-tokens'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
  const missing = components.filter((c) => !tokens.has(c));
  if (missing.length > 0) throw new Error(`${file('cluster-tokens')} has no token for ${missing.join(', ')}: add them or remove the file to make new ones`);
  return { dir, tokensFile: file('cluster-tokens'), adminTokenFile: file('admin-token'), tokenOf: (c) => tokens.get(c) };
}

const creds = devCredentials();
const worker = (id, offset, extra) => [
  id,
  dist('worker'),
  { WORKER_PORT: String(controlPort + offset), WORKER_ID: id, CLUSTER_TOKEN: creds.tokenOf(id), ...extra },
];
const processes = [
  ['controller', dist('controller'), { PORT: adminPort, CONTROL_PORT: String(controlPort), HEARTBEAT_TIMEOUT_MS: '3000', CLUSTER_TOKENS_FILE: creds.tokensFile, ADMIN_TOKENS_FILE: creds.adminTokenFile }],
  worker('cpu-0', 1, { WORKER_POOL: 'cpu', WORKER_CPU: '8', WORKER_MEMORY: String(8 * 1024 ** 3) }),
  worker('cpu-1', 2, { WORKER_POOL: 'cpu', WORKER_CPU: '8', WORKER_MEMORY: String(8 * 1024 ** 3) }),
  worker('gpu-0', 3, { WORKER_POOL: 'gpu', WORKER_CPU: '4', WORKER_MEMORY: String(8 * 1024 ** 3), WORKER_GPUS: '1', WORKER_GPU_MEMORY: String(8 * 1024 ** 3) }),
  ['gateway', dist('gateway'), { PORT: process.env.PORT ?? '8080', GRPC_PORT: process.env.GRPC_PORT ?? '8081', CLUSTER_TOKEN: creds.tokenOf('gateway') }],
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

console.log(
  `[cluster] REST http://127.0.0.1:${process.env.PORT ?? '8080'}, gRPC 127.0.0.1:${process.env.GRPC_PORT ?? '8081'}, ` +
    `cluster status http://127.0.0.1:${adminPort}/v1/cluster (admin API: Authorization: Bearer $(cat ${path.relative(process.cwd(), creds.adminTokenFile)}); join tokens in ${path.relative(process.cwd(), creds.tokensFile)})`,
);
console.log(`[cluster] dashboards: graphs http://127.0.0.1:${process.env.PORT ?? '8080'}/ui, cluster http://127.0.0.1:${adminPort}/ui (sign in with the admin token)`);
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 1500).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
