import { z } from 'zod';
import { byteQuantity, cpuQuantity, graphHeaderSchema, nodeSchemas } from './graph-spec.schema';

/**
 * Kubernetes mode: the two custom resources of the `infergraph.dev` API group besides the graph itself.
 * `InferenceGraph.spec` is the graph spec users already write (`graphSpecSchema`); its `status` and the whole
 * `WorkerPool` are defined here, so the CRDs (generated from these schemas) and the operator never drift.
 */
export const API_GROUP = 'infergraph.dev';
export const WORKER_POOL_KIND = 'WorkerPool';

/**
 * `InferenceGraph.spec` as one schema, nodes included (the parser checks node by node, for messages with
 * a line and column; the CRD needs the whole shape).
 */
export const graphSpecSchema = graphHeaderSchema.shape.spec.extend({
  nodes: z
    .array(
      z.discriminatedUnion('type', [nodeSchemas.model, nodeSchemas.transformer, nodeSchemas.router, nodeSchemas.combiner, nodeSchemas.outlier, nodeSchemas.drift]),
    )
    .min(1, 'must declare at least one node'),
});

const k8sName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and "-"');

export const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Equal', 'Exists']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

/**
 * One variable of a pool's workers: a `value`, or a key of a Secret in the pool's namespace (`valueFrom`, e.g.
 * S3 credentials): the pods reference it, the operator never reads it.
 */
export const envVarSchema = z
  .strictObject({
    name: z.string().min(1).regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'must be an environment variable name'),
    value: z.string().optional(),
    valueFrom: z
      .strictObject({
        secretKeyRef: z.strictObject({
          name: z
            .string()
            .min(1)
            .max(253)
            .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a Secret name (DNS subdomain)'),
          key: z
            .string()
            .min(1)
            .max(253)
            .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key (letters, digits, "-", "_", ".")'),
        }),
      })
      .optional(),
  })
  .refine((e) => (e.value === undefined) !== (e.valueFrom === undefined), { message: 'give exactly one of value or valueFrom' })
  // The refine above, as a CEL rule the API server runs.
  .meta({ 'x-kubernetes-validations': [{ rule: 'has(self.value) != has(self.valueFrom)', message: 'give exactly one of value or valueFrom' }] });

/** A pool of identical worker processes: one Deployment, scaled by the operator between `min` and `max`. */
export const workerPoolSpecSchema = z
  .strictObject({
    /** The placement pool its workers report (graphs' `resources.pool`); default: the resource's name. */
    pool: k8sName.optional(),
    replicas: z
      .strictObject({
        min: z.int().min(0).max(1000).default(1),
        max: z.int().min(0).max(1000).default(1),
      })
      // The superRefine below, as a CEL rule the API server runs (defaults spelled out: it applies none).
      .meta({
        'x-kubernetes-validations': [
          { rule: '(has(self.max) ? self.max : 1) >= (has(self.min) ? self.min : 1)', message: 'must be >= replicas.min', fieldPath: '.max' },
        ],
      }),
    /** What each worker gets (the pod's requests and limits) and advertises for placement. */
    resources: z
      .strictObject({
        cpu: cpuQuantity,
        memory: byteQuantity,
        /** GPUs per worker: requested as `nvidia.com/gpu`. */
        gpu: z.int().min(0).max(16).default(0),
        /** GPU memory per worker, summed over its GPUs: what placement counts `gpuMemory` against. */
        gpuMemory: byteQuantity.optional(),
      })
      .meta({
        'x-kubernetes-validations': [
          {
            rule: '!has(self.gpu) || self.gpu == 0 || has(self.gpuMemory)',
            message: 'is required when resources.gpu > 0 (placement counts models against it)',
            fieldPath: '.gpuMemory',
          },
        ],
      }),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z.array(tolerationSchema).optional(),
    /** The worker image; default: the operator's own (`WORKER_IMAGE`). */
    image: z.string().min(1).optional(),
    env: z.array(envVarSchema).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.replicas.max < s.replicas.min) ctx.addIssue({ code: 'custom', path: ['replicas', 'max'], message: `must be >= replicas.min (${s.replicas.min})` });
    if (s.resources.gpu > 0 && s.resources.gpuMemory === undefined)
      ctx.addIssue({ code: 'custom', path: ['resources', 'gpuMemory'], message: 'is required when resources.gpu > 0 (placement counts models against it)' });
  });
export type WorkerPoolSpec = z.infer<typeof workerPoolSpecSchema>;

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const conditionSchema = z.strictObject({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(['True', 'False', 'Unknown']),
  /** CamelCase, machine-readable: e.g. AllReplicasReady, Placing, Unplaceable, InvalidSpec. */
  reason: z.string().regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
  lastTransitionTime: z.iso.datetime(),
  observedGeneration: z.int().min(0).optional(),
});
export type GraphCondition = z.infer<typeof conditionSchema>;

export const nodeStatusSchema = z.strictObject({
  name: z.string(),
  wantedReplicas: z.int().min(0),
  readyReplicas: z.int().min(0),
  /** Why replicas wait (placement's reason), when some do. */
  pending: z.string().optional(),
});

/** What the operator writes to `InferenceGraph.status` (the status subresource). */
export const inferenceGraphStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
  nodes: z.array(nodeStatusSchema).optional(),
  /** Nodes with all their wanted replicas ready, of all placed nodes ("2/3"): the READY printer column. */
  nodesReady: z
    .string()
    .regex(/^\d+\/\d+$/, 'must be "<ready>/<total>"')
    .optional(),
  /** Where the graph answers: V2 REST and gRPC through the gateway Service. */
  endpoints: z
    .strictObject({
      rest: z.string().optional(),
      grpc: z.string().optional(),
    })
    .optional(),
});
export type InferenceGraphStatus = z.infer<typeof inferenceGraphStatusSchema>;

export const workerPoolStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  /** Workers the operator wants (the Deployment's replicas) and workers joined to the controller. */
  replicas: z.int().min(0).optional(),
  joinedWorkers: z.int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type WorkerPoolStatus = z.infer<typeof workerPoolStatusSchema>;
