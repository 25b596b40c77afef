import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerPoolSpecSchema } from '@infergraph/spec';
import { poolDeployment, type PoolDeploymentSettings } from './worker-pool.deployment';

const settings: PoolDeploymentSettings = {
  namespace: 'ml',
  workerImage: 'infergraph:1',
  workerCommand: ['node', 'dist/apps/worker/src/main.js'],
  controllerService: 'infergraph-controller.ml.svc:9000',
  modelsDir: '/models',
  modelsClaim: 'models',
  workerTokenSecret: 'worker-token',
  workerControlTlsSecret: 'worker-control-tls',
  workerNodeTlsSecret: 'worker-node-tls',
  workerServiceAccount: 'infergraph-worker',
};

interface Container {
  image: string;
  env: { name: string; value?: string; valueFrom?: unknown }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
}
interface PodSpec {
  containers: Container[];
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  securityContext: Record<string, unknown>;
}
const podOf = (d: ReturnType<typeof poolDeployment>): PodSpec => (d.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (c: Container): Record<string, unknown> => Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('poolDeployment', () => {
  const gpuPool = {
    name: 'gpu',
    uid: 'uid-1',
    spec: workerPoolSpecSchema.parse({
      replicas: { min: 1, max: 3 },
      resources: { cpu: '2', memory: '8Gi', gpu: 1, gpuMemory: '16Gi' },
      nodeSelector: { 'nvidia.com/gpu.present': 'true' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      env: [
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'WORKER_ID', value: 'spoofed' },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-credentials', key: 'secret' } } },
      ],
    }),
  };

  it('requests nvidia.com/gpu for a GPU pool and schedules with its node selector and tolerations', () => {
    const pod = podOf(poolDeployment(gpuPool, 2, settings));
    const c = pod.containers[0] as Container;
    assert.deepEqual(c.resources.limits, { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' });
    assert.deepEqual(c.resources.requests, c.resources.limits);
    assert.deepEqual(pod.nodeSelector, { 'nvidia.com/gpu.present': 'true' });
    assert.deepEqual(pod.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('identifies each worker by its pod name and advertises the pool’s capacity in the worker’s variables', () => {
    const env = envOf(podOf(poolDeployment(gpuPool, 2, settings)).containers[0] as Container);
    assert.deepEqual(env['WORKER_ID'], { fieldRef: { fieldPath: 'metadata.name' } });
    assert.deepEqual(env['HOST'], { fieldRef: { fieldPath: 'status.podIP' } });
    assert.equal(env['WORKER_POOL'], 'gpu');
    assert.equal(env['CONTROLLER'], 'infergraph-controller.ml.svc:9000');
    assert.equal(env['WORKER_CPU'], '2');
    assert.equal(env['WORKER_MEMORY'], String(8 * 1024 ** 3));
    assert.equal(env['WORKER_GPUS'], '1');
    assert.equal(env['WORKER_GPU_MEMORY'], String(16 * 1024 ** 3));
    assert.equal(env['LOG_LEVEL'], 'debug');
    // A Secret's key (S3 credentials, say) is referenced by the pod, never copied into the Deployment.
    assert.deepEqual(env['AWS_SECRET_ACCESS_KEY'], { secretKeyRef: { name: 's3-credentials', key: 'secret' } });
    assert.equal(env['CLUSTER_TOKEN_FILE'], '/etc/infergraph/cluster-token/token');
    assert.equal(env['CLUSTER_TOKEN'], undefined);
    // Fetched models go to the writable scratch volume: the root filesystem is read-only.
    assert.equal(env['MODEL_CACHE_DIR'], '/tmp/infergraph-models');
  });

  it('runs as the worker ServiceAccount without its token, with the join token and control-plane certificates from Secret volumes', () => {
    const pod = podOf(poolDeployment(gpuPool, 1, settings)) as PodSpec & { serviceAccountName?: string; automountServiceAccountToken?: boolean; volumes: { name: string; secret?: unknown }[] };
    assert.equal(pod.serviceAccountName, 'infergraph-worker');
    assert.equal(pod.automountServiceAccountToken, false);
    const c = pod.containers[0] as Container & { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] };
    const env = envOf(c);
    assert.deepEqual(
      ['CONTROL_TLS_CA', 'CONTROL_TLS_CERT', 'CONTROL_TLS_KEY'].map((n) => env[n]),
      ['/etc/infergraph/control-tls/ca.crt', '/etc/infergraph/control-tls/tls.crt', '/etc/infergraph/control-tls/tls.key'],
    );
    // Node calls from gateways under mutual TLS too: the workers' NODE_TLS_* from their own Secret.
    assert.deepEqual(
      ['NODE_TLS_CA', 'NODE_TLS_CERT', 'NODE_TLS_KEY'].map((n) => env[n]),
      ['/etc/infergraph/node-tls/ca.crt', '/etc/infergraph/node-tls/tls.crt', '/etc/infergraph/node-tls/tls.key'],
    );
    assert.deepEqual(
      pod.volumes.filter((v) => v.secret !== undefined),
      [
        { name: 'cluster-token', secret: { secretName: 'worker-token', defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } },
        { name: 'control-tls', secret: { secretName: 'worker-control-tls', defaultMode: 0o440, items: ['ca.crt', 'tls.crt', 'tls.key'].map((key) => ({ key, path: key })) } },
        { name: 'node-tls', secret: { secretName: 'worker-node-tls', defaultMode: 0o440, items: ['ca.crt', 'tls.crt', 'tls.key'].map((key) => ({ key, path: key })) } },
      ],
    );
    assert.deepEqual(
      c.volumeMounts.filter((m) => m.name === 'cluster-token' || m.name.endsWith('-tls')),
      [
        { name: 'cluster-token', mountPath: '/etc/infergraph/cluster-token', readOnly: true },
        { name: 'control-tls', mountPath: '/etc/infergraph/control-tls', readOnly: true },
        { name: 'node-tls', mountPath: '/etc/infergraph/node-tls', readOnly: true },
      ],
    );
    // Without the settings: no ServiceAccount named, no credentials mounted, still no token.
    const bare = podOf(poolDeployment(gpuPool, 1, { ...settings, workerTokenSecret: undefined, workerControlTlsSecret: undefined, workerNodeTlsSecret: undefined, workerServiceAccount: undefined })) as PodSpec & Record<string, unknown>;
    assert.equal(bare['serviceAccountName'], undefined);
    assert.equal(bare['automountServiceAccountToken'], false);
    assert.deepEqual((bare['volumes'] as { name: string }[]).map((v) => v.name), ['tmp', 'models']);
  });

  it('owns the Deployment through the WorkerPool and labels it as managed by infergraph', () => {
    const d = poolDeployment(gpuPool, 2, settings);
    assert.equal(d.metadata.name, 'gpu-workers');
    assert.equal(d.metadata.labels?.['app.kubernetes.io/managed-by'], 'infergraph');
    assert.deepEqual(d.metadata.ownerReferences, [{ apiVersion: 'infergraph.dev/v1alpha1', kind: 'WorkerPool', name: 'gpu', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    assert.equal((d.spec as { replicas: number }).replicas, 2);
  });

  it('runs non-root on a read-only root filesystem without privilege escalation', () => {
    const pod = podOf(poolDeployment(gpuPool, 1, settings));
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    assert.deepEqual((pod.containers[0] as Container).securityContext, { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it('gives a CPU pool no GPU request, and uses the pool’s own name as its pool by default', () => {
    const cpu = { name: 'cpu-small', uid: 'u', spec: workerPoolSpecSchema.parse({ replicas: { min: 1, max: 2 }, resources: { cpu: '500m', memory: '1Gi' }, image: 'mine:2' }) };
    const c = podOf(poolDeployment(cpu, 1, settings)).containers[0] as Container;
    assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '1Gi' });
    assert.equal(c.image, 'mine:2');
    assert.equal(envOf(c)['WORKER_CPU'], '0.5');
    assert.equal(envOf(c)['WORKER_POOL'], 'cpu-small');
  });

  it('refuses a pool without an image when the operator has none either, naming the field', () => {
    const pool = { name: 'p', uid: 'u', spec: workerPoolSpecSchema.parse({ replicas: { min: 1, max: 1 }, resources: { cpu: 1, memory: '1Gi' } }) };
    assert.throws(() => poolDeployment(pool, 1, { ...settings, workerImage: '' }), /WorkerPool "p": spec\.image is not set/);
  });

  it('refuses a pool variable with both a value and a Secret reference, or neither, naming the rule', () => {
    for (const env of [[{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], [{ name: 'A' }]]) {
      const parsed = workerPoolSpecSchema.safeParse({ replicas: { min: 1, max: 1 }, resources: { cpu: '1', memory: '1Gi' }, env });
      assert.equal(parsed.success, false);
      assert.match(JSON.stringify(parsed.error?.issues), /give exactly one of value or valueFrom/);
    }
  });
});
