import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { probeGpus } from './gpu.probe';

const envSchema = z.object({
  WORKER_PORT: z.coerce.number().int().min(1).max(65535).default(9001),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  CONTROLLER: z.string().default(''),
  WORKER_ID: z.string().default(''),
  WORKER_POOL: z.string().min(1).default('cpu'),
  WORKER_CPU: z.coerce.number().positive().optional(),
  WORKER_MEMORY: z.coerce.number().int().positive().optional(),
  /** GPUs and their memory: from configuration, else read from nvidia-smi when present. */
  WORKER_GPUS: z.coerce.number().int().min(0).optional(),
  WORKER_GPU_MEMORY: z.coerce.number().int().min(0).optional(),
  HEARTBEAT_MS: z.coerce.number().int().min(50).default(1000),
});

export interface WorkerConfig {
  readonly port: number;
  readonly host: string;
  readonly graphDirs: readonly string[];
  readonly bodyLimitBytes: number;
  readonly logFormat: 'text' | 'json';
  /** Controller mode: join it and serve what it assigns; otherwise serve every node of GRAPHS_DIR. */
  readonly controller: string | undefined;
  readonly id: string;
  readonly pool: string;
  readonly capacity: { readonly cpu: number; readonly memory: number; readonly gpuCount: number; readonly gpuMemory: number };
  readonly heartbeatMs: number;
}

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): WorkerConfig {
  const e = parseEnvironment(envSchema, env, 'worker');
  const probed = e.WORKER_GPUS === undefined || e.WORKER_GPU_MEMORY === undefined ? probeGpus() : undefined;
  return Object.freeze({
    port: e.WORKER_PORT,
    host: e.HOST,
    graphDirs: Object.freeze(listOf(e.GRAPHS_DIR).map((d) => path.resolve(cwd, d))),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    logFormat: e.LOG_FORMAT,
    controller: e.CONTROLLER === '' ? undefined : e.CONTROLLER,
    id: e.WORKER_ID === '' ? `${e.WORKER_POOL}-${os.hostname()}-${e.WORKER_PORT}` : e.WORKER_ID,
    pool: e.WORKER_POOL,
    capacity: Object.freeze({
      cpu: e.WORKER_CPU ?? os.cpus().length,
      memory: e.WORKER_MEMORY ?? os.totalmem(),
      gpuCount: e.WORKER_GPUS ?? probed?.count ?? 0,
      gpuMemory: e.WORKER_GPU_MEMORY ?? probed?.memoryBytes ?? 0,
    }),
    heartbeatMs: e.HEARTBEAT_MS,
  });
}
