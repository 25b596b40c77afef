import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { controlServerSecurityFrom, type ControlServerSecurity } from '@infergraph/transport-grpc';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';
import { isLoopbackHost } from '@infergraph/protocol';
import { adminTokenOf, parseAdminTokensFile, type AdminScope, type AdminTokenDigest } from './admin-tokens';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  CONTROL_PORT: z.coerce.number().int().min(1).max(65535).default(9000),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  STATE_DIR: z.string().min(1).default('.infergraph/controller'),
  HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  SYNC_WINDOW_MS: z.coerce.number().int().min(0).default(3000),
  REBALANCE_MAX_MOVES: z.coerce.number().int().min(0).default(8),
  DEFAULT_REPLICAS: z.coerce.number().int().min(1).max(64).default(2),
  ...telemetryEnvShape,
  AUTOSCALE_UP_AFTER_MS: z.coerce.number().int().min(100).default(3000),
  AUTOSCALE_IDLE_MS: z.coerce.number().int().min(100).default(60_000),
  AUTOSCALE_COOLDOWN_MS: z.coerce.number().int().min(0).default(3000),
  /** Directories (comma-separated) graphs may point into besides GRAPHS_DIR; default: the working directory. */
  MODEL_ROOTS: z.string().default('.'),
  /** Let graphs posted through the admin API load custom modules (code run on workers and gateways). */
  ALLOW_POSTED_MODULES: z.enum(['true', 'false', '1', '0', '']).default('false'),
  /** `files`: graphs from GRAPHS_DIR and the admin API; `kubernetes`: an operator of InferenceGraphs and WorkerPools. */
  CONTROLLER_MODE: z.enum(['files', 'kubernetes']).default('files'),
  KUBE_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name (a DNS label)').optional(),
  KUBECONFIG: z.string().default(''),
  POD_NAME: z.string().default(''),
  LEASE_NAME: z.string().regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be a Lease name (DNS subdomain)').default('infergraph-controller'),
  LEASE_DURATION_MS: z.coerce.number().int().min(1000).max(120_000).default(10_000),
  LEASE_RENEW_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  WORKER_IMAGE: z.string().default(''),
  /** The worker command in pool Deployments (JSON array of strings). */
  WORKER_COMMAND: z.string().default('["node","dist/apps/worker/src/main.js"]'),
  /** host:port workers of pool Deployments join (the controller Service). */
  CONTROLLER_SERVICE: z.string().default(''),
  /** A PersistentVolumeClaim with the models, mounted read-only into pool workers at the first MODEL_ROOTS entry. */
  MODELS_PVC: z.string().default(''),
  /** A Secret whose key `token` pool workers get as CLUSTER_TOKEN_FILE (the operator references it, never reads it). */
  WORKER_TOKEN_SECRET: z.string().default(''),
  /** A Secret with ca.crt, tls.crt and tls.key: pool workers' CONTROL_TLS_CA/CERT/KEY (mutual TLS to the controller). */
  WORKER_CONTROL_TLS_SECRET: z.string().default(''),
  /** A Secret with ca.crt, tls.crt and tls.key: pool workers' NODE_TLS_CA/CERT/KEY (mutual TLS on node calls). */
  WORKER_NODE_TLS_SECRET: z.string().default(''),
  /** The ServiceAccount of pool workers' pods (the chart's has no permissions); empty: the namespace's default. */
  WORKER_SERVICE_ACCOUNT: z.string().default(''),
  GATEWAY_REST_URL: z.string().default(''),
  GATEWAY_GRPC_URL: z.string().default(''),
});

export interface ControllerConfig {
  /** Admin REST API (graphs, /v1/cluster). */
  readonly port: number;
  /** Control plane gRPC (workers join, gateways watch routes). */
  readonly controlPort: number;
  readonly host: string;
  readonly graphDirs: readonly string[];
  /**
   * The controller's own directory (absolute): graphs posted through the admin API live in `graphs/` under
   * it and survive restarts. GRAPHS_DIR is the user's and is never written.
   */
  readonly stateDir: string;
  /** A worker silent for longer is gone; its replicas are re-placed. */
  readonly heartbeatTimeoutMs: number;
  /**
   * After a start, how long the controller waits for workers to rejoin (and adopts what they hold) before
   * it places anything or publishes routes; gateways keep their last table meanwhile.
   */
  readonly syncWindowMs: number;
  /** Replicas one replan may move to even out the workers (a worker joined or returned); 0 never moves. */
  readonly rebalanceMaxMoves: number;
  /** Replicas of a node whose graph does not set `replicas`, up to the eligible workers of its pool. */
  readonly defaultReplicas: number;
  /** Logs (LOG_LEVEL, LOG_FORMAT, LOG_PAYLOADS) and tracing (OTEL_*). */
  readonly telemetry: TelemetrySettings;
  readonly autoscale: { readonly upAfterMs: number; readonly idleAfterMs: number; readonly cooldownMs: number };
  /** MODEL_ROOTS (absolute): with every GRAPHS_DIR entry, where graphs' models, modules and references may be. */
  readonly modelRoots: readonly string[];
  /** ALLOW_POSTED_MODULES: posted graphs may name custom modules (default false: refused with 400). */
  readonly allowPostedModules: boolean;
  /**
   * Bearer tokens of the admin API (ADMIN_TOKEN, ADMIN_READ_TOKEN, ADMIN_TOKENS_FILE), as SHA-256 digests.
   * Empty: no authentication, which is only allowed on a loopback HOST.
   */
  readonly adminTokens: readonly AdminTokenDigest[];
  /**
   * Who may join the control plane (CLUSTER_TOKEN, CLUSTER_TOKENS_FILE, CONTROL_TLS_*). Open (anonymous
   * callers) only on a loopback HOST.
   */
  readonly controlSecurity: ControlServerSecurity;
  /** CONTROLLER_MODE=kubernetes: where the operator's objects are and who it is; undefined in files mode. */
  readonly kubernetes: KubernetesSettings | undefined;
}

/** The operator's settings (CONTROLLER_MODE=kubernetes). */
export interface KubernetesSettings {
  /** KUBE_NAMESPACE, else the service account's namespace, else `default`. */
  readonly namespace: string;
  /** KUBECONFIG; undefined: in-cluster (the pod's service account). */
  readonly kubeconfig: string | undefined;
  /** POD_NAME: this candidate in the leader Lease (default: the host name and process id). */
  readonly identity: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly leaseRenewMs: number;
  /** WORKER_IMAGE: the image of pools that name none. */
  readonly workerImage: string;
  readonly workerCommand: readonly string[];
  /** CONTROLLER_SERVICE: what workers of pool Deployments get as CONTROLLER. */
  readonly controllerService: string;
  /** Written into each InferenceGraph's status.endpoints. */
  readonly gatewayRestUrl: string;
  readonly gatewayGrpcUrl: string;
  /**
   * Where an InferenceGraph's relative paths (model.uri, modules, references) point: the first MODEL_ROOTS
   * entry, since such a graph has no file of its own.
   */
  readonly modelsDir: string;
  /** MODELS_PVC: mounted read-only into pool workers at `modelsDir`. */
  readonly modelsClaim: string | undefined;
  /** WORKER_TOKEN_SECRET: pool workers' CLUSTER_TOKEN_FILE is its key `token`, mounted. */
  readonly workerTokenSecret: string | undefined;
  /** WORKER_CONTROL_TLS_SECRET: pool workers' CONTROL_TLS_* files, mounted. */
  readonly workerControlTlsSecret: string | undefined;
  /** WORKER_NODE_TLS_SECRET: pool workers' NODE_TLS_* files, mounted. */
  readonly workerNodeTlsSecret: string | undefined;
  /** WORKER_SERVICE_ACCOUNT: pool workers' ServiceAccount. */
  readonly workerServiceAccount: string | undefined;
}

export const CONTROLLER_CONFIG = Symbol('CONTROLLER_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), podNamespace: () => string | undefined = () => undefined): ControllerConfig {
  const admin = adminTokensIn(env, cwd);
  const control = controlServerSecurityFrom(env, cwd);
  admin.problems.push(...control.problems);
  let e: z.infer<typeof envSchema>;
  try {
    e = parseEnvironment(envSchema, env, 'controller');
  } catch (err) {
    if (admin.problems.length === 0) throw err;
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${admin.problems.map((p) => `  ${p}`).join('\n')}`, { cause: err });
  }
  const kubernetes = e.CONTROLLER_MODE === 'kubernetes' ? kubernetesSettingsOf(e, cwd, admin.problems, podNamespace) : undefined;
  if (admin.problems.length > 0) throw new Error(`invalid controller configuration:\n${admin.problems.map((p) => `  ${p}`).join('\n')}`);
  const adminTokens = admin.tokens;
  if (adminTokens.length === 0 && !isLoopbackHost(e.HOST)) {
    throw new Error(
      `invalid controller configuration:\n  HOST=${JSON.stringify(e.HOST)}: the admin API would be reachable without authentication; ` +
        'set ADMIN_TOKEN (or ADMIN_TOKENS_FILE) to a secret, or bind a loopback address (HOST=127.0.0.1)',
    );
  }
  if (control.security.tokens.length === 0 && control.security.tls === undefined && !isLoopbackHost(e.HOST)) {
    throw new Error(
      `invalid controller configuration:\n  HOST=${JSON.stringify(e.HOST)}: anyone reaching the control plane could join as a worker and receive traffic; ` +
        'set CLUSTER_TOKEN (or CLUSTER_TOKENS_FILE), or CONTROL_TLS_CA/CERT/KEY for mutual TLS (`npm run certs`), or bind a loopback address',
    );
  }
  return Object.freeze({
    port: e.PORT,
    controlPort: e.CONTROL_PORT,
    host: e.HOST,
    graphDirs: Object.freeze(listOf(e.GRAPHS_DIR).map((d) => path.resolve(cwd, d))),
    stateDir: path.resolve(cwd, e.STATE_DIR),
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_MS,
    syncWindowMs: e.SYNC_WINDOW_MS,
    rebalanceMaxMoves: e.REBALANCE_MAX_MOVES,
    defaultReplicas: e.DEFAULT_REPLICAS,
    telemetry: telemetrySettingsOf(e),
    autoscale: Object.freeze({ upAfterMs: e.AUTOSCALE_UP_AFTER_MS, idleAfterMs: e.AUTOSCALE_IDLE_MS, cooldownMs: e.AUTOSCALE_COOLDOWN_MS }),
    modelRoots: Object.freeze(listOf(e.MODEL_ROOTS).map((d) => path.resolve(cwd, d))),
    allowPostedModules: e.ALLOW_POSTED_MODULES === 'true' || e.ALLOW_POSTED_MODULES === '1',
    adminTokens: Object.freeze(adminTokens.map((t) => Object.freeze(t))),
    controlSecurity: control.security,
    kubernetes,
  });
}

function kubernetesSettingsOf(e: z.infer<typeof envSchema>, cwd: string, problems: string[], podNamespace: () => string | undefined): KubernetesSettings {
  let workerCommand: string[] = [];
  try {
    const parsed = JSON.parse(e.WORKER_COMMAND) as unknown;
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === 'string' && x !== '')) throw new Error('not a non-empty array of strings');
    workerCommand = parsed as string[];
  } catch (err) {
    problems.push(`WORKER_COMMAND=${JSON.stringify(e.WORKER_COMMAND)}: must be a JSON array of strings, e.g. ["node","dist/apps/worker/src/main.js"] (${err instanceof Error ? err.message : String(err)})`);
  }
  for (const [name, value] of [['GATEWAY_REST_URL', e.GATEWAY_REST_URL], ['GATEWAY_GRPC_URL', e.GATEWAY_GRPC_URL]] as const) {
    if (value !== '' && !URL.canParse(value)) problems.push(`${name}=${JSON.stringify(value)}: must be a URL, e.g. http://infergraph-gateway.ml.svc:8080`);
  }
  const firstRoot = listOf(e.MODEL_ROOTS)[0] ?? '.';
  return Object.freeze({
    namespace: e.KUBE_NAMESPACE ?? podNamespace() ?? 'default',
    kubeconfig: e.KUBECONFIG === '' ? undefined : path.resolve(cwd, e.KUBECONFIG),
    identity: e.POD_NAME !== '' ? e.POD_NAME : `${hostname()}-${process.pid}`,
    leaseName: e.LEASE_NAME,
    leaseDurationMs: e.LEASE_DURATION_MS,
    leaseRenewMs: Math.min(e.LEASE_RENEW_MS, Math.floor(e.LEASE_DURATION_MS / 3)),
    workerImage: e.WORKER_IMAGE,
    workerCommand: Object.freeze(workerCommand),
    controllerService: e.CONTROLLER_SERVICE,
    gatewayRestUrl: e.GATEWAY_REST_URL,
    gatewayGrpcUrl: e.GATEWAY_GRPC_URL,
    modelsDir: path.resolve(cwd, firstRoot),
    modelsClaim: e.MODELS_PVC === '' ? undefined : e.MODELS_PVC,
    workerTokenSecret: e.WORKER_TOKEN_SECRET === '' ? undefined : e.WORKER_TOKEN_SECRET,
    workerControlTlsSecret: e.WORKER_CONTROL_TLS_SECRET === '' ? undefined : e.WORKER_CONTROL_TLS_SECRET,
    workerNodeTlsSecret: e.WORKER_NODE_TLS_SECRET === '' ? undefined : e.WORKER_NODE_TLS_SECRET,
    workerServiceAccount: e.WORKER_SERVICE_ACCOUNT === '' ? undefined : e.WORKER_SERVICE_ACCOUNT,
  });
}

/**
 * ADMIN_TOKEN, ADMIN_READ_TOKEN and the lines of ADMIN_TOKENS_FILE as digests, and every problem with them.
 * Checked apart from the zod schema because its messages quote the value, and a token must never be logged.
 */
function adminTokensIn(env: NodeJS.ProcessEnv, cwd: string): { tokens: AdminTokenDigest[]; problems: string[] } {
  const tokens: AdminTokenDigest[] = [];
  const problems: string[] = [];
  const variables: [string, AdminScope][] = [
    ['ADMIN_TOKEN', 'admin'],
    ['ADMIN_READ_TOKEN', 'read'],
  ];
  for (const [name, scope] of variables) {
    // Trimmed: a secret mounted from a file often ends in a newline.
    const value = env[name]?.trim() ?? '';
    if (value === '') continue;
    const token = adminTokenOf(value, scope, name);
    if ('problem' in token) problems.push(token.problem);
    else tokens.push(token);
  }
  const file = env.ADMIN_TOKENS_FILE?.trim() ?? '';
  if (file !== '') {
    const origin = `ADMIN_TOKENS_FILE=${JSON.stringify(file)}`;
    try {
      const parsed = parseAdminTokensFile(readFileSync(path.resolve(cwd, file), 'utf8'), origin);
      tokens.push(...parsed.tokens);
      problems.push(...parsed.problems);
    } catch (err) {
      problems.push(`${origin}: cannot read the tokens file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { tokens, problems };
}
