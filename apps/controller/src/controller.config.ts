import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { controlServerSecurityFrom, type ControlServerSecurity } from '@infergraph/transport-grpc';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';
import { adminTokenOf, isLoopbackHost, parseAdminTokensFile, type AdminScope, type AdminTokenDigest } from './admin-tokens';

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
}

export const CONTROLLER_CONFIG = Symbol('CONTROLLER_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ControllerConfig {
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
