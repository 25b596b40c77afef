import { z } from 'zod';
import { rolloutConfigSchema } from './rollout-config.schema';
import { dnsLabel, tensorName, tensorSpecSchema } from './tensor-spec.schema';
import { transformStepSchema } from './transformer-steps.schema';
import { routerConfigSchema } from './router-config.schema';
import { combinerConfigSchema } from './combiner-config.schema';
import { driftConfigSchema, outlierConfigSchema } from './detector-config.schema';
import { parseModelUri } from './model-uri';
import { NodeKey } from './node.key';

export const API_VERSION = 'infergraph.dev/v1alpha1';
export const KIND = 'InferenceGraph';

export const NODE_TYPES = ['transformer', 'model', 'router', 'combiner', 'outlier', 'drift'] as const;
export type NodeType = (typeof NODE_TYPES)[number];


// Kubernetes-style quantities: cpu "500m" or 0.5; memory "512Mi", "4Gi", "1G" or bytes.
export const cpuQuantity = z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?m?$/, 'must be cores (0.5) or millicores ("500m")')]);
export const byteQuantity = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/, 'must be bytes, or a quantity such as "512Mi", "4Gi" or "1G"'),
]);

/** The pool name that keeps a (cheap) node in the gateway process instead of placing it on workers. */
export const GATEWAY_POOL = 'gateway';

export const resourcesSchema = z.strictObject({
  pool: z.string().min(1).default('cpu'),
  cpu: cpuQuantity.optional(),
  memory: byteQuantity.optional(),
  gpuMemory: byteQuantity.optional(),
});

export type ResourcesSpec = z.infer<typeof resourcesSchema>;

const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex digits');

/** Default wait for companions of a lone request: long enough to gather concurrent requests, short next to a model run. */
export const DEFAULT_MAX_QUEUE_DELAY_MICROS = 500;
/** Default queue bound, in requests: this many batches' worth, but never fewer than 256. */
export const DEFAULT_QUEUE_BATCHES = 16;
export const MIN_DEFAULT_MAX_QUEUE_SIZE = 256;

/**
 * Dynamic batching of one model node: concurrent requests are stacked along the first dimension into
 * one model run. `maxQueueSize` counts requests waiting (not rows); a full queue answers 503.
 */
export const batchingConfigSchema = z
  .strictObject({
    maxBatchSize: z.int('must be an integer >= 1').min(1, 'must be an integer >= 1').max(1_000_000, 'must be <= 1000000'),
    maxQueueDelayMicros: z
      .int('must be an integer number of microseconds >= 0')
      .min(0, 'must be an integer number of microseconds >= 0')
      .max(10_000_000, 'must be <= 10000000 (10 s)')
      .default(DEFAULT_MAX_QUEUE_DELAY_MICROS),
    preferredBatchSizes: z.array(z.int('must be an integer >= 1').min(1, 'must be an integer >= 1')).default([]),
    maxQueueSize: z.int('must be an integer >= 1').min(1, 'must be an integer >= 1').optional(),
  })
  .superRefine((b, ctx) => {
    b.preferredBatchSizes.forEach((size, i) => {
      if (size > b.maxBatchSize) {
        ctx.addIssue({ code: 'custom', path: ['preferredBatchSizes', i], message: `preferred batch size ${size} exceeds maxBatchSize ${b.maxBatchSize}` });
      }
    });
  })
  .transform((b) => ({
    ...b,
    maxQueueSize: b.maxQueueSize ?? Math.max(MIN_DEFAULT_MAX_QUEUE_SIZE, DEFAULT_QUEUE_BATCHES * b.maxBatchSize),
  }));

export type BatchingSpec = z.infer<typeof batchingConfigSchema>;

export const modelConfigSchema = z
  .strictObject({
    /** A path relative to the graph file, file://, https:// (sha256 required) or s3://<bucket>/<key>. */
    uri: z.string().min(1, 'must be a path relative to the graph file, a file:// URL, an https:// URL or s3://<bucket>/<key>'),
    /** sha256 of the model's bytes: checked on load; required for http(s) URIs (nothing else vouches for them). */
    sha256: sha256.optional(),
    /** Accept NaN and ±Infinity in floating-point inputs (rejected by default). */
    allowNonFinite: z.boolean().default(false),
    intraOpThreads: z.int().min(1).optional(),
    /** Stack concurrent requests into one run; the model's first dimension must be dynamic. */
    batching: batchingConfigSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const parsed = parseModelUri(m.uri);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', path: ['uri'], message: parsed.error });
      return;
    }
    if ((parsed.scheme === 'https' || parsed.scheme === 'http') && m.sha256 === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sha256'],
        message: `required for an ${parsed.scheme}:// model.uri (64 lowercase hex digits: the sha256 of the model file, e.g. from sha256sum)`,
      });
    }
  });

export const transformerConfigSchema = z
  .strictObject({
    /** Built-in ops applied in order; empty (and no module) is a pass-through. */
    steps: z.array(transformStepSchema).default([]),
    /** Custom transformer: module path relative to the graph file (.js, .cjs, .mjs or .ts). */
    module: z.string().min(1).optional(),
    export: z.string().min(1).default('transform'),
    /** Custom transformer: the tensors the module returns (needed to type the graph). */
    outputs: z.array(tensorSpecSchema).optional(),
  })
  .refine((t) => t.module === undefined || t.steps.length === 0, 'give either steps or module, not both')
  .refine((t) => t.module === undefined || t.outputs !== undefined, 'a custom module must declare its outputs (name, datatype, shape)');

const nodeBase = {
  name: dnsLabel.refine((n) => n !== 'graph', '"graph" is reserved for graph.inputs references'),
  inputs: z.array(z.string().min(1, 'must be a tensor reference')).min(1, 'must list at least one tensor reference'),
  tensorMap: z.record(z.string(), tensorName).optional(),
  /** Per-node deadline; a node that takes longer fails with DEADLINE_EXCEEDED. */
  timeoutMs: z.int().min(1).optional(),
  /** Distributed mode: where replicas of this node may run and what each needs. */
  resources: resourcesSchema.optional(),
  /** Distributed mode: a call that failed on one replica may be retried on another (default true). */
  idempotent: z.boolean().default(true),
  /** Distributed mode: how many replicas to run, or autoscaling bounds on in-flight requests per replica. */
  replicas: z
    .union([
      z.int().min(1, 'must be >= 1').max(1000),
      z
        .strictObject({ min: z.int().min(1).max(1000), max: z.int().min(1).max(1000), targetInFlight: z.number().positive().default(4) })
        .refine((r) => r.min <= r.max, 'min must be <= max'),
    ])
    .optional(),
};

export const nodeSchemas = {
  model: z.strictObject({ ...nodeBase, type: z.literal('model'), model: modelConfigSchema }),
  transformer: z.strictObject({
    ...nodeBase,
    type: z.literal('transformer'),
    transformer: transformerConfigSchema.default({ steps: [], export: 'transform' }),
  }),
  router: z.strictObject({ ...nodeBase, type: z.literal('router'), router: routerConfigSchema }),
  combiner: z.strictObject({ ...nodeBase, type: z.literal('combiner'), combiner: combinerConfigSchema }),
  outlier: z.strictObject({ ...nodeBase, type: z.literal('outlier'), outlier: outlierConfigSchema }),
  drift: z.strictObject({ ...nodeBase, type: z.literal('drift'), drift: driftConfigSchema }),
} as const;

export type ModelNodeSpec = z.infer<(typeof nodeSchemas)['model']>;
export type TransformerNodeSpec = z.infer<(typeof nodeSchemas)['transformer']>;
export type RouterNodeSpec = z.infer<(typeof nodeSchemas)['router']>;
export type CombinerNodeSpec = z.infer<(typeof nodeSchemas)['combiner']>;
export type OutlierNodeSpec = z.infer<(typeof nodeSchemas)['outlier']>;
export type DriftNodeSpec = z.infer<(typeof nodeSchemas)['drift']>;
export type NodeSpec = { [K in NodeType]: z.infer<(typeof nodeSchemas)[K]> }[NodeType];

export const graphOutputSchema = z.union([
  z.string().min(1),
  z.strictObject({
    name: tensorName,
    /** A tensor reference, or alternatives (first produced wins) for outputs behind a router. */
    source: z.union([z.string().min(1, 'must be a tensor reference'), z.array(z.string().min(1)).min(1, 'must list at least one tensor reference')]),
  }),
]);

/** A graph's `spec.version` (also the part of a node key after "@"). */
export const graphVersion = z.string().max(63, 'must be at most 63 characters').regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"');

/** One version of a graph where the cluster names it (`NodeKey.graphId`): `<name>` or `<name>@<version>`. */
export const graphId = z.string().refine((id) => {
  const parsed = NodeKey.parseGraphId(id);
  return parsed !== undefined && dnsLabel.safeParse(parsed.graph).success && (parsed.version === undefined || graphVersion.safeParse(parsed.version).success);
}, 'must be a graph name (a DNS-1123 label), optionally followed by "@<version>" (not "@1")');

/** A node key as another process sends it (`NodeKey`): a graph id, ".", and a node name. */
export const nodeKey = z
  .string()
  .max(256, 'must be at most 256 characters')
  .refine((key) => {
    const parsed = NodeKey.parse(key);
    return parsed !== undefined && graphId.safeParse(NodeKey.graphId(parsed.graph, parsed.version)).success && /^[A-Za-z0-9_-]+$/.test(parsed.node);
  }, 'must be "<graph>.<node>", or "<graph>@<version>.<node>"');

export const graphHeaderSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal(KIND, { error: `must be "${KIND}"` }),
  metadata: z.strictObject({
    name: dnsLabel,
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    version: graphVersion.default(NodeKey.UNVERSIONED),
    timeoutMs: z.int().min(1).max(3_600_000).default(30_000),
    /** Rows (first dimension of each input) one request may carry; default the gateway's MAX_ROWS. */
    maxRows: z.int().min(1).max(10_000_000).optional(),
    inputs: z.array(tensorSpecSchema).min(1, 'must declare at least one input tensor'),
    nodes: z.array(z.unknown()).min(1, 'must declare at least one node'),
    outputs: z.array(graphOutputSchema).min(1, 'must name at least one output'),
    /**
     * How node calls travel: `auto` follows the serving process (NODE_TRANSPORT: in-process or gRPC
     * workers); `kafka` sends every model, transformer and outlier call through the node's own topics.
     */
    transport: z.enum(['auto', 'kafka'], { error: 'must be "auto" or "kafka"' }).default('auto'),
    /**
     * How a chain graph's node calls cross to workers. `graph` (the default when unset): when one worker holds
     * every node, the request crosses once and runs there whole (one gRPC message, or one record on the first
     * node's inputs topic and its answer on that node's outputs topic). `node`: every node call crosses on
     * its own, so over Kafka each node's input and output is a record on the node's own topics.
     */
    nodeCalls: z.enum(['graph', 'node'], { error: 'must be "graph" or "node"' }).optional(),
    /**
     * Who may call predict on this graph (REST and gRPC): `required` refuses a request without a valid API
     * key or JWT (401); `subjects`, when given, lists the authenticated subjects allowed (403 for others).
     * The gateway's PREDICT_API_KEYS_FILE and PREDICT_JWKS_* say which credentials are valid.
     */
    auth: z
      .strictObject({
        required: z.boolean().default(true),
        subjects: z.array(z.string().min(1, 'must not be empty')).min(1, 'must list at least one subject when given').optional(),
      })
      .optional(),
    /** A canary rollout of this version against the one serving the graph when it loads (rollout-config.schema.ts). */
    rollout: rolloutConfigSchema.optional(),
    /** Streaming: consume <prefix>.<graph>.inputs, produce .outputs, and bad records to .errors. */
    kafka: z
      .strictObject({
        enabled: z.boolean().default(true),
        prefix: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"').default('infergraph'),
        partitions: z.int().min(1).max(1000).default(3),
      })
      .optional(),
  }),
});

export type GraphHeader = z.infer<typeof graphHeaderSchema>;
export type GraphOutputSpec = z.infer<typeof graphOutputSchema>;

export interface GraphSpec extends Omit<GraphHeader, 'spec'> {
  readonly spec: Omit<GraphHeader['spec'], 'nodes'> & { readonly nodes: readonly NodeSpec[] };
}
