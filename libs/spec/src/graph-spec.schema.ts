import { z } from 'zod';
import { DATATYPES } from '@infergraph/protocol';

export const API_VERSION = 'infergraph.dev/v1alpha1';
export const KIND = 'InferenceGraph';

export const NODE_TYPES = ['transformer', 'model', 'router', 'combiner', 'outlier', 'drift'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** Node types this release can execute; the rest are reserved in the schema. */
export const EXECUTABLE_NODE_TYPES: readonly NodeType[] = ['model', 'transformer'];

// DNS-1123 label: the name becomes part of URLs, topic names and Kubernetes objects.
const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit');

const tensorName = z
  .string()
  .min(1, 'must be a non-empty string')
  .regex(/^[^\s]+$/, 'must not contain whitespace');

export const tensorSpecSchema = z.strictObject({
  name: tensorName,
  datatype: z.enum(DATATYPES, { error: `must be one of ${DATATYPES.join(', ')}` }),
  shape: z
    .array(z.int({ error: 'dimensions must be integers' }).refine((d) => d === -1 || d >= 1, 'dimensions must be >= 1, or -1 for a dynamic dimension'))
    .min(1, 'must have at least one dimension'),
});

const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex digits');

export const modelConfigSchema = z.strictObject({
  uri: z.string().min(1, 'must be a path relative to the graph file, or a file:// URL'),
  sha256: sha256.optional(),
  /** Accept NaN and ±Infinity in floating-point inputs (rejected by default). */
  allowNonFinite: z.boolean().default(false),
  intraOpThreads: z.int().min(1).optional(),
});

export const transformerConfigSchema = z.strictObject({
  steps: z.array(z.unknown()).max(0, 'transformer steps are not implemented in this release; leave steps empty for a pass-through').default([]),
});

const reservedConfig = z.record(z.string(), z.unknown());

const nodeBase = {
  name: dnsLabel.refine((n) => n !== 'graph', '"graph" is reserved for graph.inputs references'),
  inputs: z.array(z.string().min(1, 'must be a tensor reference')).min(1, 'must list at least one tensor reference'),
  tensorMap: z.record(z.string(), tensorName).optional(),
};

export const nodeSchemas = {
  model: z.strictObject({ ...nodeBase, type: z.literal('model'), model: modelConfigSchema }),
  transformer: z.strictObject({ ...nodeBase, type: z.literal('transformer'), transformer: transformerConfigSchema.default({ steps: [] }) }),
  router: z.strictObject({ ...nodeBase, type: z.literal('router'), router: reservedConfig.optional() }),
  combiner: z.strictObject({ ...nodeBase, type: z.literal('combiner'), combiner: reservedConfig.optional() }),
  outlier: z.strictObject({ ...nodeBase, type: z.literal('outlier'), outlier: reservedConfig.optional() }),
  drift: z.strictObject({ ...nodeBase, type: z.literal('drift'), drift: reservedConfig.optional() }),
} as const;

export type ModelNodeSpec = z.infer<(typeof nodeSchemas)['model']>;
export type TransformerNodeSpec = z.infer<(typeof nodeSchemas)['transformer']>;
export type NodeSpec = { [K in NodeType]: z.infer<(typeof nodeSchemas)[K]> }[NodeType];

export const graphOutputSchema = z.union([
  z.string().min(1),
  z.strictObject({ name: tensorName, source: z.string().min(1, 'must be a tensor reference') }),
]);

export const graphHeaderSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal(KIND, { error: `must be "${KIND}"` }),
  metadata: z.strictObject({
    name: dnsLabel,
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    version: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"').default('1'),
    timeoutMs: z.int().min(1).max(3_600_000).default(30_000),
    inputs: z.array(tensorSpecSchema).min(1, 'must declare at least one input tensor'),
    nodes: z.array(z.unknown()).min(1, 'must declare at least one node'),
    outputs: z.array(graphOutputSchema).min(1, 'must name at least one output'),
  }),
});

export type GraphHeader = z.infer<typeof graphHeaderSchema>;
export type GraphOutputSpec = z.infer<typeof graphOutputSchema>;

export interface GraphSpec extends Omit<GraphHeader, 'spec'> {
  readonly spec: Omit<GraphHeader['spec'], 'nodes'> & { readonly nodes: readonly NodeSpec[] };
}
