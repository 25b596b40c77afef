import path from 'node:path';
import { z } from 'zod';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  GRPC_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
  HOST: z.string().min(1).default('0.0.0.0'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  ...telemetryEnvShape,
  NODE_TRANSPORT: z.enum(['inprocess', 'grpc', 'kafka']).default('inprocess'),
  WORKERS: z.string().default(''),
  CONTROLLER: z.string().default(''),
  KAFKA_BROKERS: z.string().default(''),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
  KAFKA_GROUP_ID: z.string().min(1).default('infergraph-gateway'),
  KAFKA_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(256),
});

export interface GatewayConfig {
  readonly port: number;
  /** V2 gRPC endpoint (GRPC_PORT). */
  readonly grpcPort: number;
  readonly host: string;
  /** Directories whose *.yaml graphs are served (GRAPHS_DIR, comma-separated). */
  readonly graphDirs: readonly string[];
  readonly bodyLimitBytes: number;
  /** Logs (LOG_LEVEL, LOG_FORMAT, LOG_PAYLOADS) and tracing (OTEL_*). */
  readonly telemetry: TelemetrySettings;
  /**
   * Where model, transformer and outlier nodes run: here, on the WORKERS over gRPC, or through Kafka
   * topics for every graph (a graph's `spec.transport: kafka` asks for Kafka whatever this says).
   */
  readonly nodeTransport: 'inprocess' | 'grpc' | 'kafka';
  readonly workers: readonly string[];
  /** host:port of the controller's control plane; nodes then run where it places them. */
  readonly controller: string | undefined;
  /**
   * Kafka: broker list (empty: no Kafka), topic prefix override, consumer group of the graph streams,
   * and how many streamed requests may be in flight before reading pauses.
   */
  readonly kafka: { readonly brokers: readonly string[]; readonly topicPrefix: string | undefined; readonly groupId: string; readonly maxInFlight: number };
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GatewayConfig {
  const e = parseEnvironment(envSchema, env, 'gateway');
  const workers = listOf(e.WORKERS);
  if (e.NODE_TRANSPORT === 'grpc' && workers.length === 0 && e.CONTROLLER === '') {
    throw new Error('invalid gateway configuration:\n  WORKERS="": NODE_TRANSPORT=grpc needs at least one worker address (host:port), or CONTROLLER');
  }
  if (e.NODE_TRANSPORT === 'kafka' && listOf(e.KAFKA_BROKERS).length === 0) {
    throw new Error('invalid gateway configuration:\n  KAFKA_BROKERS="": NODE_TRANSPORT=kafka needs the brokers (host:port, comma-separated) the node workers consume from');
  }
  return Object.freeze({
    port: e.PORT,
    grpcPort: e.GRPC_PORT,
    host: e.HOST,
    graphDirs: Object.freeze(
      listOf(e.GRAPHS_DIR)
        .map((d) => path.resolve(cwd, d)),
    ),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    telemetry: telemetrySettingsOf(e),
    nodeTransport: e.CONTROLLER === '' || e.NODE_TRANSPORT === 'kafka' ? e.NODE_TRANSPORT : 'grpc',
    controller: e.CONTROLLER === '' ? undefined : e.CONTROLLER,
    kafka: Object.freeze({
      brokers: Object.freeze(listOf(e.KAFKA_BROKERS)),
      topicPrefix: e.KAFKA_TOPIC_PREFIX === '' ? undefined : e.KAFKA_TOPIC_PREFIX,
      groupId: e.KAFKA_GROUP_ID,
      maxInFlight: e.KAFKA_MAX_IN_FLIGHT,
    }),
    workers: Object.freeze(workers),
  });
}
