import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { controlClientSecurityFrom, tlsFilesFrom, type ControlClientSecurity, type TlsFileSet } from '@infergraph/transport-grpc';
import { secretFromEnv, type SecretDigest } from '@infergraph/protocol';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { DEFAULT_LINGER_MS, DEFAULT_SESSION_TIMEOUT_MS } from '@infergraph/transport-kafka';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';
import { modelStoreEnvShape, modelStoreSettingsOf, type ModelStoreSettings } from '@infergraph/model-store';
import { probeGpus } from './gpu.probe';

/** Model threads of MODEL_THREADS=auto: two, so a model opening in one never delays the sessions of the other. */
export const AUTO_MODEL_THREADS = 2;

const envSchema = z.object({
  WORKER_PORT: z.coerce.number().int().min(1).max(65535).default(9001),
  /** Prometheus /metrics over HTTP: a port, 0 for any free port, or "off"; default WORKER_PORT + 100. */
  METRICS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  /** Directories (comma-separated) graphs may point into besides GRAPHS_DIR; default: the working directory. */
  MODEL_ROOTS: z.string().default('.'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  /**
   * Model sessions open and run in up to this many threads (one per session until then); 0: on the event loop;
   * auto: two threads, for the sessions opened while this worker serves calls (others on the event loop).
   */
  MODEL_THREADS: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(256)]).default('auto'),
  ...telemetryEnvShape,
  ...modelStoreEnvShape,
  CONTROLLER: z.string().default(''),
  WORKER_ID: z.string().default(''),
  WORKER_POOL: z.string().min(1).default('cpu'),
  WORKER_CPU: z.coerce.number().positive().optional(),
  WORKER_MEMORY: z.coerce.number().int().positive().optional(),
  /** GPUs and their memory: from configuration, else read from nvidia-smi when present. */
  WORKER_GPUS: z.coerce.number().int().min(0).optional(),
  WORKER_GPU_MEMORY: z.coerce.number().int().min(0).optional(),
  HEARTBEAT_MS: z.coerce.number().int().min(50).default(1000),
  DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(20_000),
  NODE_TRANSPORT: z.enum(['auto', 'kafka']).default('auto'),
  KAFKA_BROKERS: z.string().default(''),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
  KAFKA_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(64),
  /** Producer linger (Kafka's linger.ms): how long a produced record may wait for companions; 0 by default. */
  KAFKA_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(DEFAULT_LINGER_MS),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(DEFAULT_SESSION_TIMEOUT_MS),
});

export interface WorkerConfig {
  readonly port: number;
  /** HTTP port of GET /metrics and /healthz; undefined: off. */
  readonly metricsPort: number | undefined;
  readonly host: string;
  readonly graphDirs: readonly string[];
  /** MODEL_ROOTS (absolute): with every GRAPHS_DIR entry, where graphs' models, modules and references may be. */
  readonly modelRoots: readonly string[];
  readonly bodyLimitBytes: number;
  /**
   * MODEL_THREADS: most model threads holding sessions off the serving event loop; 0: sessions on it; auto:
   * AUTO_MODEL_THREADS threads holding the sessions opened while the worker serves calls, the others on the loop.
   */
  readonly modelThreads: number | 'auto';
  /** Logs (LOG_LEVEL, LOG_FORMAT, LOG_PAYLOADS) and tracing (OTEL_*). */
  readonly telemetry: TelemetrySettings;
  /** Controller mode (host:port; several, comma-separated, are tried in turn): join it and serve what it assigns; otherwise serve every node of GRAPHS_DIR. */
  readonly controller: string | undefined;
  /** What this process presents to the controller (CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, CONTROL_TLS_*). */
  readonly controlSecurity: ControlClientSecurity;
  /** NODE_TLS_CA/CERT/KEY: mutual TLS on node calls between gateways and workers; undefined: plain text. */
  readonly nodeTls: TlsFileSet | undefined;
  /** OPS_TOKEN: the bearer token of GET /metrics on METRICS_PORT (undefined: open). */
  readonly opsToken: SecretDigest | undefined;
  readonly id: string;
  readonly pool: string;
  readonly capacity: { readonly cpu: number; readonly memory: number; readonly gpuCount: number; readonly gpuMemory: number };
  readonly heartbeatMs: number;
  /** SIGTERM: how long to wait for the controller to move this worker's replicas before stopping anyway. */
  readonly drainTimeoutMs: number;
  /**
   * Kafka-connected nodes: brokers (empty: none), topic prefix override, whether every served graph's
   * nodes consume their topics (NODE_TRANSPORT=kafka) or only graphs with spec.transport: kafka, calls in
   * flight per node before reading pauses, the producer's linger, and the consumer session timeout.
   */
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly topicPrefix: string | undefined;
    readonly allGraphs: boolean;
    readonly maxInFlight: number;
    readonly lingerMs: number;
    readonly sessionTimeoutMs: number;
  };
  /** https:// and s3:// models: cache (MODEL_CACHE_*), trust (MODEL_CA_FILE, MODEL_ALLOW_HTTP) and S3_* endpoint. */
  readonly modelStore: ModelStoreSettings;
}

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): WorkerConfig {
  const e = parseEnvironment(envSchema, env, 'worker');
  const control = controlClientSecurityFrom(env, cwd);
  const nodeTls = tlsFilesFrom(env, cwd, 'NODE_TLS', control.problems);
  const ops = secretFromEnv(env, 'OPS_TOKEN', 'ops');
  if ('problem' in ops) control.problems.push(ops.problem);
  const modelStore = modelStoreSettingsOf(e, cwd);
  control.problems.push(...modelStore.problems);
  if (control.problems.length > 0) throw new Error(`invalid worker configuration:\n${control.problems.map((p) => `  ${p}`).join('\n')}`);
  if (e.NODE_TRANSPORT === 'kafka' && listOf(e.KAFKA_BROKERS).length === 0) {
    throw new Error('invalid worker configuration:\n  KAFKA_BROKERS="": NODE_TRANSPORT=kafka needs the brokers (host:port, comma-separated) to consume node topics from');
  }
  const probed = e.WORKER_GPUS === undefined || e.WORKER_GPU_MEMORY === undefined ? probeGpus() : undefined;
  return Object.freeze({
    port: e.WORKER_PORT,
    metricsPort: e.METRICS_PORT === 'off' ? undefined : (e.METRICS_PORT ?? Math.min(65535, e.WORKER_PORT + 100)),
    host: e.HOST,
    graphDirs: Object.freeze(listOf(e.GRAPHS_DIR).map((d) => path.resolve(cwd, d))),
    modelRoots: Object.freeze(listOf(e.MODEL_ROOTS).map((d) => path.resolve(cwd, d))),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    modelThreads: e.MODEL_THREADS,
    telemetry: telemetrySettingsOf(e),
    controller: e.CONTROLLER === '' ? undefined : e.CONTROLLER,
    controlSecurity: control.security,
    nodeTls,
    opsToken: 'problem' in ops ? undefined : ops.secret,
    id: e.WORKER_ID === '' ? `${e.WORKER_POOL}-${os.hostname()}-${e.WORKER_PORT}` : e.WORKER_ID,
    pool: e.WORKER_POOL,
    capacity: Object.freeze({
      cpu: e.WORKER_CPU ?? os.cpus().length,
      memory: e.WORKER_MEMORY ?? os.totalmem(),
      gpuCount: e.WORKER_GPUS ?? probed?.count ?? 0,
      gpuMemory: e.WORKER_GPU_MEMORY ?? probed?.memoryBytes ?? 0,
    }),
    heartbeatMs: e.HEARTBEAT_MS,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    kafka: Object.freeze({
      brokers: Object.freeze(listOf(e.KAFKA_BROKERS)),
      topicPrefix: e.KAFKA_TOPIC_PREFIX === '' ? undefined : e.KAFKA_TOPIC_PREFIX,
      allGraphs: e.NODE_TRANSPORT === 'kafka',
      maxInFlight: e.KAFKA_MAX_IN_FLIGHT,
      lingerMs: e.KAFKA_LINGER_MS,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    }),
    modelStore: modelStore.settings,
  });
}
