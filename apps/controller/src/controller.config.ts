import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';

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
}

export const CONTROLLER_CONFIG = Symbol('CONTROLLER_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ControllerConfig {
  const e = parseEnvironment(envSchema, env, 'controller');
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
  });
}
