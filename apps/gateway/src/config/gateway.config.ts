import path from 'node:path';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { controlClientSecurityFrom, tlsFilesFrom, type ControlClientSecurity, type TlsFileSet } from '@infergraph/transport-grpc';
import { predictAuthFrom } from '../auth/predict-auth.config';
import { secretFromEnv, type SecretDigest } from '@infergraph/protocol';
import type { PredictAuthSettings } from '../auth/predict-authenticator';
import { listOf, parseEnvironment } from '@infergraph/engine';
import { DEFAULT_LINGER_MS, DEFAULT_SESSION_TIMEOUT_MS } from '@infergraph/transport-kafka';
import { DEFAULT_LARGE_MODEL_BYTES } from '@infergraph/runtime-onnx';
import { telemetryEnvShape, telemetrySettingsOf, type TelemetrySettings } from '@infergraph/telemetry';
import { modelStoreEnvShape, modelStoreSettingsOf, type ModelStoreSettings } from '@infergraph/model-store';

/** Model threads of MODEL_THREADS=auto: one, for the few large models a gateway serves beside its small ones. */
export const AUTO_MODEL_THREADS = 1;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  GRPC_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
  // Loopback unless asked: containers set HOST=0.0.0.0.
  HOST: z.string().min(1).default('127.0.0.1'),
  GRAPHS_DIR: z.string().min(1).default('graphs'),
  /** Directories (comma-separated) graphs may point into besides GRAPHS_DIR; default: the working directory. */
  MODEL_ROOTS: z.string().default('.'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  /**
   * Model sessions open and run in up to this many threads; 0: on the event loop; auto (default): models of
   * at least MODEL_THREAD_MIN_BYTES in one model thread, smaller ones on the event loop, the fastest path for them.
   */
  MODEL_THREADS: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(256)]).default('auto'),
  MODEL_THREAD_MIN_BYTES: z.coerce.number().int().min(1).default(DEFAULT_LARGE_MODEL_BYTES),
  /** PEM certificate and key: REST and V2 gRPC serve TLS, re-reading renewed files every TLS_RELOAD_MS. */
  TLS_CERT: z.string().default(''),
  TLS_KEY: z.string().default(''),
  TLS_RELOAD_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** Rows one request may carry, for graphs without spec.maxRows. */
  MAX_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(8192),
  MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  BODY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(72_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  ...telemetryEnvShape,
  ...modelStoreEnvShape,
  NODE_TRANSPORT: z.enum(['inprocess', 'grpc', 'kafka']).default('inprocess'),
  WORKERS: z.string().default(''),
  CONTROLLER: z.string().default(''),
  /** After a controller restart, how long routes of workers that have not re-joined yet stay usable. */
  ROUTE_CARRY_OVER_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Node calls over gRPC: how often each worker connection is pinged, and how long a ping may go unanswered. */
  NODE_PING_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(1000),
  NODE_PING_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  NODE_TLS_SERVER_NAME: z
    .string()
    .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$|^$/, 'must be a DNS name (lowercase letters, digits, "-", ".")')
    .default(''),
  KAFKA_BROKERS: z.string().default(''),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
  KAFKA_GROUP_ID: z.string().min(1).default('infergraph-gateway'),
  KAFKA_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(256),
  /** Producer linger (Kafka's linger.ms): how long a produced record may wait for companions; 0 by default. */
  KAFKA_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(DEFAULT_LINGER_MS),
  /** Graph streams: how long the gateways' group waits for a gateway that stopped heartbeating before its partitions move. */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(DEFAULT_SESSION_TIMEOUT_MS),
  /**
   * Graph streams: the Kafka client on a thread of its own (true), on the event loop that runs the graphs
   * (false), or on a thread unless a streamed graph calls its nodes over Kafka (auto).
   */
  KAFKA_STREAM_THREAD: z.enum(['auto', 'true', 'false']).default('auto'),
  SERVING_PROCESSES: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
  /** Hot reload of GRAPHS_DIR (standalone gateways): fs.watch plus a scan every GRAPHS_SCAN_MS. */
  GRAPHS_WATCH: z.enum(['true', 'false']).default('true'),
  GRAPHS_SCAN_MS: z.coerce.number().int().min(100).max(3_600_000).default(2000),
  /** The version a graph's unversioned path serves, per graph: "iris=1,other=2" (default: the latest). */
  GRAPH_DEFAULT_VERSIONS: z
    .string()
    .regex(/^([a-z0-9-]+=[A-Za-z0-9._-]+(,[a-z0-9-]+=[A-Za-z0-9._-]+)*)?$/, 'must be graph=version pairs, comma-separated')
    .default(''),
});

export interface GatewayConfig {
  readonly port: number;
  /** V2 gRPC endpoint (GRPC_PORT). */
  readonly grpcPort: number;
  readonly host: string;
  /** Directories whose *.yaml graphs are served (GRAPHS_DIR, comma-separated). */
  readonly graphDirs: readonly string[];
  /** MODEL_ROOTS (absolute): with every GRAPHS_DIR entry, where graphs' models, modules and references may be. */
  readonly modelRoots: readonly string[];
  readonly bodyLimitBytes: number;
  /**
   * MODEL_THREADS: most model threads holding sessions off the event loop; 0: sessions on it; `auto`:
   * AUTO_MODEL_THREADS threads holding the sessions of models of at least `modelThreadMinBytes`.
   */
  readonly modelThreads: number | 'auto';
  /** MODEL_THREAD_MIN_BYTES: with MODEL_THREADS=auto, the smallest model a model thread holds. */
  readonly modelThreadMinBytes: number;
  /** TLS_CERT and TLS_KEY (absolute), and how often renewed files are looked for; undefined: plain text. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly reloadMs: number } | undefined;
  /**
   * SERVING_PROCESSES: processes answering HTTP on the gateway's port. 1: this one. N: this one and N - 1
   * serving processes it starts and hands connections to (apps/gateway/src/serving); `auto`: one per core.
   */
  readonly servingProcesses: number;
  /** MAX_ROWS: rows one request may carry where its graph sets no spec.maxRows (413 beyond). */
  readonly maxRows: number;
  /**
   * HTTP protection: inference requests in flight in this process above which a request is answered 503
   * with Retry-After at once; open connections; how long headers may take to arrive, how long a body may
   * stall between chunks (408), how long a whole request may take, how long an idle keep-alive
   * connection stays open, and how long a stopping gateway keeps serving, not ready, before it closes its
   * ports (SHUTDOWN_DELAY_MS: the time a load balancer takes to stop sending here; 0 closes at once).
   */
  readonly http: {
    readonly maxInFlight: number;
    readonly maxConnections: number;
    readonly headersTimeoutMs: number;
    readonly bodyTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly shutdownDelayMs: number;
  };
  /** Logs (LOG_LEVEL, LOG_FORMAT, LOG_PAYLOADS) and tracing (OTEL_*). */
  readonly telemetry: TelemetrySettings;
  /** Credentials of predict for graphs with `spec.auth` (PREDICT_API_KEYS_FILE, PREDICT_JWKS_*, PREDICT_JWT_*). */
  readonly predictAuth: PredictAuthSettings;
  /** OPS_TOKEN: the bearer token of /metrics and /v1/* (undefined: open, as the rest of a loopback gateway). */
  readonly opsToken: SecretDigest | undefined;
  /**
   * Where model, transformer and outlier nodes run: here, on the WORKERS over gRPC, or through Kafka
   * topics for every graph (a graph's `spec.transport: kafka` asks for Kafka whatever this says).
   */
  readonly nodeTransport: 'inprocess' | 'grpc' | 'kafka';
  readonly workers: readonly string[];
  /** host:port of the controller's control plane (several, comma-separated: tried in turn); nodes then run where it places them. */
  readonly controller: string | undefined;
  /**
   * ROUTE_CARRY_OVER_MS: after a restarted controller's first routing table, how long a node that table does
   * not route yet keeps the previous controller's addresses (its worker has not re-joined yet).
   */
  readonly routeCarryOverMs: number;
  /**
   * NODE_PING_INTERVAL_MS, NODE_PING_TIMEOUT_MS: node calls over gRPC ping each worker connection; one left
   * unanswered that long (a frozen or cut-off worker) fails its calls over to other replicas.
   */
  readonly nodePing: { readonly intervalMs: number; readonly timeoutMs: number };
  /** What this process presents to the controller (CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, CONTROL_TLS_*). */
  readonly controlSecurity: ControlClientSecurity;
  /** NODE_TLS_CA/CERT/KEY: mutual TLS on node calls between gateways and workers; undefined: plain text. */
  readonly nodeTls: TlsFileSet | undefined;
  /** NODE_TLS_SERVER_NAME: the name workers' certificates carry, checked instead of their addresses. */
  readonly nodeTlsServerName: string | undefined;
  /**
   * Kafka: broker list (empty: no Kafka), topic prefix override, consumer group of the graph streams,
   * how many streamed requests may be in flight before reading pauses, the producer's linger, and the group's
   * session timeout (how soon a dead gateway's partitions move to the others).
   */
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly topicPrefix: string | undefined;
    readonly groupId: string;
    readonly maxInFlight: number;
    readonly lingerMs: number;
    readonly sessionTimeoutMs: number;
    /**
     * KAFKA_STREAM_THREAD: whether the graph streams' Kafka client runs on a thread of its own; `auto`: yes,
     * unless a streamed graph calls its nodes over Kafka (then the node calls' client and the stream's share the
     * event loop, which measured faster: docs/decisions.md).
     */
    readonly streamThread: boolean | 'auto';
  };
  /** https:// and s3:// models: cache (MODEL_CACHE_*), trust (MODEL_CA_FILE, MODEL_ALLOW_HTTP) and S3_* endpoint. */
  readonly modelStore: ModelStoreSettings;
  /**
   * Hot reload of GRAPHS_DIR (GRAPHS_WATCH, GRAPHS_SCAN_MS); undefined: only on SIGHUP. Never with CONTROLLER
   * (the catalogue decides).
   */
  readonly watch: { readonly scanMs: number } | undefined;
  /** GRAPH_DEFAULT_VERSIONS: the version each listed graph's unversioned path serves. */
  readonly defaultVersions: Readonly<Record<string, string>>;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/** Parses the environment once; lists every bad variable at start-up. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GatewayConfig {
  const e = parseEnvironment(envSchema, env, 'gateway');
  const control = controlClientSecurityFrom(env, cwd);
  const nodeTls = tlsFilesFrom(env, cwd, 'NODE_TLS', control.problems);
  const predictAuth = predictAuthFrom(env, cwd);
  control.problems.push(...predictAuth.problems);
  const ops = secretFromEnv(env, 'OPS_TOKEN', 'ops');
  if ('problem' in ops) control.problems.push(ops.problem);
  const modelStore = modelStoreSettingsOf(e, cwd);
  control.problems.push(...modelStore.problems);
  if (control.problems.length > 0) throw new Error(`invalid gateway configuration:\n${control.problems.map((p) => `  ${p}`).join('\n')}`);
  const workers = listOf(e.WORKERS);
  if (e.NODE_TRANSPORT === 'grpc' && workers.length === 0 && e.CONTROLLER === '') {
    throw new Error('invalid gateway configuration:\n  WORKERS="": NODE_TRANSPORT=grpc needs at least one worker address (host:port), or CONTROLLER');
  }
  if ((e.TLS_CERT === '') !== (e.TLS_KEY === '')) {
    throw new Error(`invalid gateway configuration:\n  ${e.TLS_CERT === '' ? 'TLS_KEY' : 'TLS_CERT'} is set without ${e.TLS_CERT === '' ? 'TLS_CERT' : 'TLS_KEY'}: TLS needs both files`);
  }
  if (e.NODE_TLS_SERVER_NAME !== '' && nodeTls === undefined) {
    throw new Error('invalid gateway configuration:\n  NODE_TLS_SERVER_NAME is set without NODE_TLS_CA/CERT/KEY: the name is checked on TLS node calls only');
  }
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    // node:http refuses the pair when the server is made, with a message that names neither variable.
    throw new Error(
      `invalid gateway configuration:\n  HEADERS_TIMEOUT_MS=${e.HEADERS_TIMEOUT_MS} is longer than REQUEST_TIMEOUT_MS=${e.REQUEST_TIMEOUT_MS}: the headers are part of the request; lower HEADERS_TIMEOUT_MS or raise REQUEST_TIMEOUT_MS`,
    );
  }
  if (e.NODE_TRANSPORT === 'kafka' && listOf(e.KAFKA_BROKERS).length === 0) {
    throw new Error('invalid gateway configuration:\n  KAFKA_BROKERS=": NODE_TRANSPORT=kafka needs the brokers (host:port, comma-separated) the node workers consume from');
  }
  const servingProcesses = e.SERVING_PROCESSES === 'auto' ? Math.max(1, Math.min(64, availableParallelism())) : e.SERVING_PROCESSES;
  if (servingProcesses > 1) {
    // Serving processes answer in-process graphs from the same files; what they cannot share is named here.
    const refusal =
      e.TLS_CERT !== ''
        ? 'TLS_CERT is set: serving processes answer plain HTTP only so far'
        : e.CONTROLLER !== ''
          ? 'CONTROLLER is set: graphs from a controller are served by this process only'
          : e.NODE_TRANSPORT !== 'inprocess'
            ? `NODE_TRANSPORT=${e.NODE_TRANSPORT}: serving processes run graphs in-process only`
            : undefined;
    if (refusal !== undefined) throw new Error(`invalid gateway configuration:\n  SERVING_PROCESSES=${e.SERVING_PROCESSES}: ${refusal}; set SERVING_PROCESSES=1`);
  }
  return Object.freeze({
    port: e.PORT,
    grpcPort: e.GRPC_PORT,
    host: e.HOST,
    graphDirs: Object.freeze(
      listOf(e.GRAPHS_DIR)
        .map((d) => path.resolve(cwd, d)),
    ),
    modelRoots: Object.freeze(listOf(e.MODEL_ROOTS).map((d) => path.resolve(cwd, d))),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    modelThreads: e.MODEL_THREADS,
    modelThreadMinBytes: e.MODEL_THREAD_MIN_BYTES,
    maxRows: e.MAX_ROWS,
    servingProcesses,
    tls: e.TLS_CERT === '' ? undefined : Object.freeze({ certFile: path.resolve(cwd, e.TLS_CERT), keyFile: path.resolve(cwd, e.TLS_KEY), reloadMs: e.TLS_RELOAD_MS }),
    http: Object.freeze({
      maxInFlight: e.MAX_IN_FLIGHT,
      maxConnections: e.MAX_CONNECTIONS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.BODY_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    }),
    telemetry: telemetrySettingsOf(e),
    predictAuth: predictAuth.settings,
    opsToken: 'problem' in ops ? undefined : ops.secret,
    nodeTransport: e.CONTROLLER === '' || e.NODE_TRANSPORT === 'kafka' ? e.NODE_TRANSPORT : 'grpc',
    controller: e.CONTROLLER === '' ? undefined : e.CONTROLLER,
    routeCarryOverMs: e.ROUTE_CARRY_OVER_MS,
    nodePing: Object.freeze({ intervalMs: e.NODE_PING_INTERVAL_MS, timeoutMs: e.NODE_PING_TIMEOUT_MS }),
    controlSecurity: control.security,
    nodeTls,
    nodeTlsServerName: e.NODE_TLS_SERVER_NAME === '' ? undefined : e.NODE_TLS_SERVER_NAME,
    kafka: Object.freeze({
      brokers: Object.freeze(listOf(e.KAFKA_BROKERS)),
      topicPrefix: e.KAFKA_TOPIC_PREFIX === '' ? undefined : e.KAFKA_TOPIC_PREFIX,
      groupId: e.KAFKA_GROUP_ID,
      maxInFlight: e.KAFKA_MAX_IN_FLIGHT,
      lingerMs: e.KAFKA_LINGER_MS,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
      streamThread: e.KAFKA_STREAM_THREAD === 'auto' ? 'auto' : e.KAFKA_STREAM_THREAD === 'true',
    }),
    workers: Object.freeze(workers),
    modelStore: modelStore.settings,
    watch: e.GRAPHS_WATCH === 'true' && e.CONTROLLER === '' ? Object.freeze({ scanMs: e.GRAPHS_SCAN_MS }) : undefined,
    defaultVersions: Object.freeze(Object.fromEntries(listOf(e.GRAPH_DEFAULT_VERSIONS).map((pair) => pair.split('=') as [string, string]))),
  });
}
