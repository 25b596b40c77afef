import { parseBytes, parseCpu } from '@infergraph/placement';
import { API_VERSION, WORKER_POOL_KIND, type WorkerPoolSpec } from '@infergraph/spec';
import type { KubeObject } from '@infergraph/kube';

/** The label every object the operator creates carries; it only ever changes objects with it. */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'infergraph' } as const;
export const POOL_LABEL = 'infergraph.dev/worker-pool';
export const MANAGED_SELECTOR = `${MANAGED_BY.key}=${MANAGED_BY.value}`;

const WORKER_PORT = 9001;
const METRICS_PORT = 9101;
/** The worker drains (DRAIN_TIMEOUT_MS, 20 s by default) before it stops; the pod gets that and a margin. */
const TERMINATION_GRACE_SECONDS = 30;
/** Where pool workers find the join token and the control-plane certificates (Secret volumes, read-only). */
export const WORKER_TOKEN_DIR = '/etc/infergraph/cluster-token';
export const WORKER_CONTROL_TLS_DIR = '/etc/infergraph/control-tls';
export const WORKER_NODE_TLS_DIR = '/etc/infergraph/node-tls';
/** Where pool workers cache fetched models: on the `tmp` emptyDir, the only writable place in the pod. */
export const WORKER_MODEL_CACHE_DIR = '/tmp/infergraph-models';

/** A WorkerPool as the operator reads it. */
export interface WorkerPoolObject {
  readonly name: string;
  readonly uid: string;
  readonly spec: WorkerPoolSpec;
}

/** What the Deployment takes from the operator's own configuration. */
export interface PoolDeploymentSettings {
  readonly namespace: string;
  /** WORKER_IMAGE: for pools that name no image. */
  readonly workerImage: string;
  readonly workerCommand: readonly string[];
  /** CONTROLLER of the workers: the controller Service (host:port). */
  readonly controllerService: string;
  /** MODEL_ROOTS of the workers: where graphs' models are. */
  readonly modelsDir: string;
  /** MODELS_PVC: a PersistentVolumeClaim mounted read-only at `modelsDir`; undefined: the image holds the models. */
  readonly modelsClaim: string | undefined;
  /** WORKER_TOKEN_SECRET: a Secret whose key `token` is mounted as the workers' CLUSTER_TOKEN_FILE (referenced, never read). */
  readonly workerTokenSecret: string | undefined;
  /**
   * WORKER_CONTROL_TLS_SECRET: a Secret with `ca.crt`, `tls.crt` and `tls.key`, mounted as the workers'
   * CONTROL_TLS_CA/CERT/KEY (mutual TLS to the controller); undefined: none.
   */
  readonly workerControlTlsSecret: string | undefined;
  /**
   * WORKER_NODE_TLS_SECRET: a Secret with `ca.crt`, `tls.crt` and `tls.key`, mounted as the workers'
   * NODE_TLS_CA/CERT/KEY (mutual TLS on node calls from gateways); undefined: node calls in plain text.
   */
  readonly workerNodeTlsSecret: string | undefined;
  /** WORKER_SERVICE_ACCOUNT: the pods' ServiceAccount (one without API permissions); its token is never mounted. */
  readonly workerServiceAccount: string | undefined;
}

/** The pool name workers report (graphs' `resources.pool`): `spec.pool`, else the resource's name. */
export function poolNameOf(pool: WorkerPoolObject): string {
  return pool.spec.pool ?? pool.name;
}

export function deploymentNameOf(poolResource: string): string {
  return `${poolResource}-workers`;
}

/**
 * The Deployment of one WorkerPool: `replicas` workers of its image, each identified by its pod name
 * (WORKER_ID), advertising its pod IP and the pool's resources (WORKER_CPU/MEMORY/GPUS/GPU_MEMORY, the same
 * as the pod's requests and limits, `nvidia.com/gpu` for GPU pools), scheduled by the pool's nodeSelector
 * and tolerations, non-root on a read-only root filesystem, as a ServiceAccount without API access and no
 * token mounted, with the control-plane credentials from Secret volumes, owned by the WorkerPool (deleted
 * with it).
 * Pure: the same pool and settings always give the same manifest.
 */
export function poolDeployment(pool: WorkerPoolObject, replicas: number, settings: PoolDeploymentSettings): KubeObject {
  const spec = pool.spec;
  const image = spec.image ?? settings.workerImage;
  if (image === '') throw new Error(`WorkerPool "${pool.name}": spec.image is not set and the operator has no WORKER_IMAGE`);
  const selector = { 'app.kubernetes.io/name': 'infergraph-worker', [POOL_LABEL]: pool.name };
  const labels = { ...selector, [MANAGED_BY.key]: MANAGED_BY.value, 'app.kubernetes.io/component': 'worker' };
  const cpu = String(spec.resources.cpu);
  const memory = String(spec.resources.memory);
  const gpus = spec.resources.gpu;
  const limits: Record<string, string> = { cpu, memory, ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) };
  const own = new Set([
    ...['WORKER_ID', 'WORKER_POOL', 'CONTROLLER', 'HOST', 'WORKER_PORT', 'METRICS_PORT', 'WORKER_CPU', 'WORKER_MEMORY', 'WORKER_GPUS', 'WORKER_GPU_MEMORY', 'MODEL_ROOTS', 'MODEL_CACHE_DIR'],
    ...['CLUSTER_TOKEN', 'CLUSTER_TOKEN_FILE', 'CONTROL_TLS_CA', 'CONTROL_TLS_CERT', 'CONTROL_TLS_KEY', 'NODE_TLS_CA', 'NODE_TLS_CERT', 'NODE_TLS_KEY'],
  ]);
  const tokenSecret = settings.workerTokenSecret;
  const tlsSecret = settings.workerControlTlsSecret;
  const nodeTlsSecret = settings.workerNodeTlsSecret;
  const certificateFiles = (name: string, dir: string): { name: string; value: string }[] =>
    [
      ['CA', 'ca.crt'],
      ['CERT', 'tls.crt'],
      ['KEY', 'tls.key'],
    ].map(([suffix, file]) => ({ name: `${name}_${suffix as string}`, value: `${dir}/${file as string}` }));
  const certificateVolume = (name: string, secretName: string): object => ({
    name,
    secret: { secretName, defaultMode: 0o440, items: ['ca.crt', 'tls.crt', 'tls.key'].map((key) => ({ key, path: key })) },
  });
  const env = [
    { name: 'WORKER_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // The address the worker binds and advertises to the controller: the pod's own IP.
    { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'WORKER_PORT', value: String(WORKER_PORT) },
    { name: 'METRICS_PORT', value: String(METRICS_PORT) },
    { name: 'WORKER_POOL', value: poolNameOf(pool) },
    { name: 'CONTROLLER', value: settings.controllerService },
    { name: 'WORKER_CPU', value: String(parseCpu(spec.resources.cpu)) },
    { name: 'WORKER_MEMORY', value: String(parseBytes(spec.resources.memory)) },
    { name: 'WORKER_GPUS', value: String(gpus) },
    { name: 'WORKER_GPU_MEMORY', value: String(spec.resources.gpuMemory === undefined ? 0 : parseBytes(spec.resources.gpuMemory)) },
    { name: 'MODEL_ROOTS', value: settings.modelsDir },
    // https:// and s3:// models are cached on the pod's writable scratch volume (the root filesystem is read-only).
    { name: 'MODEL_CACHE_DIR', value: WORKER_MODEL_CACHE_DIR },
    // Credentials as files from Secret volumes, not variables (which every child process and /proc/<pid>/environ see).
    ...(tokenSecret !== undefined ? [{ name: 'CLUSTER_TOKEN_FILE', value: `${WORKER_TOKEN_DIR}/token` }] : []),
    ...(tlsSecret !== undefined ? certificateFiles('CONTROL_TLS', WORKER_CONTROL_TLS_DIR) : []),
    ...(nodeTlsSecret !== undefined ? certificateFiles('NODE_TLS', WORKER_NODE_TLS_DIR) : []),
    // The pool's own variables come last but cannot replace what identifies the worker.
    ...(spec.env ?? [])
      .filter((e) => !own.has(e.name))
      .map((e) => (e.valueFrom !== undefined ? { name: e.name, valueFrom: { secretKeyRef: { ...e.valueFrom.secretKeyRef } } } : { name: e.name, value: e.value ?? '' })),
  ];
  const probe = (path: string): object => ({ httpGet: { path, port: 'metrics' }, periodSeconds: 5, failureThreshold: 3 });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentNameOf(pool.name),
      namespace: settings.namespace,
      labels,
      ownerReferences: [{ apiVersion: API_VERSION, kind: WORKER_POOL_KIND, name: pool.name, uid: pool.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      // Make-before-break when the pool changes: a new worker joins before an old one drains.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          // Workers never call the API server: a ServiceAccount without permissions, and no token in the pod.
          ...(settings.workerServiceAccount !== undefined ? { serviceAccountName: settings.workerServiceAccount } : {}),
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          ...(spec.nodeSelector !== undefined ? { nodeSelector: { ...spec.nodeSelector } } : {}),
          ...(spec.tolerations !== undefined ? { tolerations: spec.tolerations.map((t) => ({ ...t })) } : {}),
          containers: [
            {
              name: 'worker',
              image,
              command: [...settings.workerCommand],
              env,
              ports: [
                { name: 'grpc', containerPort: WORKER_PORT },
                { name: 'metrics', containerPort: METRICS_PORT },
              ],
              resources: { requests: { ...limits }, limits },
              readinessProbe: probe('/healthz'),
              livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10 },
              securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                ...(settings.modelsClaim !== undefined ? [{ name: 'models', mountPath: settings.modelsDir, readOnly: true }] : []),
                ...(tokenSecret !== undefined ? [{ name: 'cluster-token', mountPath: WORKER_TOKEN_DIR, readOnly: true }] : []),
                ...(tlsSecret !== undefined ? [{ name: 'control-tls', mountPath: WORKER_CONTROL_TLS_DIR, readOnly: true }] : []),
                ...(nodeTlsSecret !== undefined ? [{ name: 'node-tls', mountPath: WORKER_NODE_TLS_DIR, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            ...(settings.modelsClaim !== undefined ? [{ name: 'models', persistentVolumeClaim: { claimName: settings.modelsClaim, readOnly: true } }] : []),
            // Readable by the worker's group only (fsGroup), and only the keys it needs.
            ...(tokenSecret !== undefined ? [{ name: 'cluster-token', secret: { secretName: tokenSecret, defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } }] : []),
            ...(tlsSecret !== undefined ? [certificateVolume('control-tls', tlsSecret)] : []),
            ...(nodeTlsSecret !== undefined ? [certificateVolume('node-tls', nodeTlsSecret)] : []),
          ],
        },
      },
    },
  };
}
