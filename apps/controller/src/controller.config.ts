import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  CONTROL_PORT: z.coerce.number().int().min(1).max(65535).default(9000),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
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
  /** A worker silent for longer is gone; its replicas are re-placed. */
  readonly heartbeatTimeoutMs: number;
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
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_MS,
    telemetry: telemetrySettingsOf(e),
    autoscale: Object.freeze({ upAfterMs: e.AUTOSCALE_UP_AFTER_MS, idleAfterMs: e.AUTOSCALE_IDLE_MS, cooldownMs: e.AUTOSCALE_COOLDOWN_MS }),
  });
}
