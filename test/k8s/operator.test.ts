import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startController, type RunningController } from '../support/controller.process';
import { goldenRows } from '../support/examples';
import { freePort, request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startTestControlPlane, type TestControlPlane } from '../support/kube';
import { describeFailures, startLoad } from '../support/load-generator';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// The controller as a Kubernetes operator (CONTROLLER_MODE=kubernetes). Real parts: etcd, kube-apiserver
// and kube-controller-manager built from source (scripts/k8s), the CRDs of deploy/crds applied with
// kubectl, two controller processes campaigning for one Lease, worker processes named after the Pods the
// ReplicaSet controller created for a pool's Deployment (there is no kubelet, so the Pods stay Pending and
// the test runs one local worker per Pod), a real gateway, and constant load from a separate process.
// The controllers' STATE_DIR cannot be created (it lies under a regular file): graphs reach workers and the
// gateway only as documents in control messages, never as files.

const NS = 'infergraph-test';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface GraphObject {
  metadata: { name: string; generation: number };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    nodes?: { name: string; wantedReplicas: number; readyReplicas: number; pending?: string }[];
    endpoints?: { rest?: string; grpc?: string };
  };
}
interface DeploymentObject {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: {
    replicas: number;
    template: {
      spec: {
        nodeSelector?: Record<string, string>;
        tolerations?: unknown[];
        containers: { env: { name: string; value?: string; valueFrom?: unknown }[]; resources: { limits: Record<string, string>; requests: Record<string, string> } }[];
      };
    };
  };
}

async function eventually<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
    if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms${last === undefined ? '' : `; last error: ${last.message}`}`);
    await sleep(100);
  }
}

const condition = (g: GraphObject | undefined, type: string): Condition | undefined => g?.status?.conditions?.find((c) => c.type === type);

/** An example graph of graphs/ as an InferenceGraph object; its `../models/` paths become relative to the models directory. */
function exampleGraph(file: string, name: string, edit: (spec: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const doc = parse(readFileSync(repoPath('graphs', file), 'utf8')) as { spec: Record<string, unknown> };
  const spec = JSON.parse(JSON.stringify(doc.spec).replaceAll('"../models/', '"')) as Record<string, unknown>;
  delete spec['kafka'];
  edit(spec);
  return { apiVersion: 'infergraph.dev/v1alpha1', kind: 'InferenceGraph', metadata: { name, namespace: NS }, spec };
}

/** A one-transformer graph (log1p, no model) whose one node asks for `resources`. */
function scaleGraph(name: string, node: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'infergraph.dev/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name, namespace: NS },
    spec: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      nodes: [{ name: 'log', type: 'transformer', inputs: ['graph.inputs.x'], transformer: { steps: [{ op: 'log1p', tensor: 'x' }] }, ...node }],
      outputs: ['log.outputs.x'],
    },
  };
}

/** The operator's namespaced Role, exactly the rules the chart grants it (no Secrets). */
const OPERATOR_RBAC = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'infergraph-controller' },
      rules: [
        { apiGroups: ['infergraph.dev'], resources: ['inferencegraphs', 'workerpools'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['infergraph.dev'], resources: ['inferencegraphs/status', 'workerpools/status'], verbs: ['get', 'update', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'infergraph-controller' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'infergraph-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'infergraph-controller', namespace: NS }],
    },
  ],
};

describe('operator: InferenceGraphs and WorkerPools on a real API server', () => {
  let cp: TestControlPlane;
  const controllers: RunningController[] = [];
  const workers = new Map<string, RunningWorker>();
  let gateway: RunningGateway;
  let scratch: string;
  let stateDir: string;
  let emptyGraphs: string;
  const rows = goldenRows('iris-logreg-core');
  const irisBody = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await cp.kubectl([...args, '-n', NS], input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (object: unknown): Promise<string> => kubectl(['apply', '-f', '-'], JSON.stringify(object));
  const getGraph = async (name: string): Promise<GraphObject | undefined> => {
    const r = await cp.kubectl(['get', 'inferencegraph', name, '-n', NS, '-o', 'json']);
    if (r.code !== 0) {
      if (/NotFound/.test(r.stderr)) return undefined;
      throw new Error(r.stderr);
    }
    return JSON.parse(r.stdout) as GraphObject;
  };
  const getDeployment = async (name: string): Promise<DeploymentObject | undefined> => {
    const r = await cp.kubectl(['get', 'deployment', name, '-n', NS, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as DeploymentObject) : undefined;
  };
  /** The Events recorded about an object, as `type reason`. */
  const eventsAbout = async (kind: string, name: string): Promise<string[]> => {
    const list = JSON.parse(await kubectl(['get', 'events', '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`, '-o', 'json'])) as { items: { type: string; reason: string }[] };
    return list.items.map((e) => `${e.type} ${e.reason}`);
  };
  /** Names of the Pods the ReplicaSet controller made for a pool (Pending: nothing runs them). */
  const podsOf = async (pool: string): Promise<string[]> => {
    const list = JSON.parse(await kubectl(['get', 'pods', '-l', `infergraph.dev/worker-pool=${pool}`, '-o', 'json'])) as { items: { metadata: { name: string; deletionTimestamp?: string } }[] };
    return list.items
      .filter((p) => p.metadata.deletionTimestamp === undefined)
      .map((p) => p.metadata.name)
      .sort();
  };
  const controlList = (): string => controllers.map((c) => c.control).join(',');
  /** One local worker per Pod of the pool that has none yet, identified by the Pod's name. */
  const startPoolWorkers = async (pool: string, env: Record<string, string>): Promise<string[]> => {
    const started: string[] = [];
    for (const pod of await podsOf(pool)) {
      if (workers.has(pod)) continue;
      workers.set(pod, await startWorker({ CONTROLLER: controlList(), WORKER_ID: pod, WORKER_POOL: pool, HEARTBEAT_MS: '200', MODEL_ROOTS: repoPath('models'), ...env }));
      started.push(pod);
    }
    return started;
  };
  const ready = async (c: RunningController): Promise<boolean> => (await fetch(`${c.base}/healthz/ready`).catch(() => undefined))?.status === 200;
  /** Ready as the leader (a standby is Ready too, as `role: standby`). */
  const leads = async (c: RunningController): Promise<boolean> => {
    const res = await fetch(`${c.base}/healthz/ready`).catch(() => undefined);
    return res?.status === 200 && ((await res.json()) as { role?: string }).role === 'leader';
  };
  /** Whether anything accepts a TCP connection on the controller's control port. */
  const listens = (c: RunningController): Promise<boolean> =>
    new Promise((resolve) => {
      const [host, port] = [c.control.slice(0, c.control.lastIndexOf(':')), Number(c.control.slice(c.control.lastIndexOf(':') + 1))];
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  /** Waits until a new leader has synced with every local worker back. */
  const everyWorkerRejoined = (c: RunningController, name: string): Promise<boolean> =>
    eventually(`every worker re-joined ${name}`, async () => {
      const s = (await (await fetch(`${c.base}/v1/cluster`)).json()) as { synced: boolean; workers: { id: string }[] };
      return s.synced && s.workers.length === workers.size ? true : undefined;
    }, 15_000);
  /**
   * A new standby `id` where controllers[slot] was (in a cluster: a new pod behind the same Service), once it
   * is Ready as a standby.
   */
  const standbyAt = async (slot: 0 | 1, id: string): Promise<RunningController> => {
    const standby = await startController((controllers[slot] as RunningController).ports, controllerEnv(id));
    controllers[slot] = standby;
    await eventually(`${id} Ready as a standby`, async () => ((await ready(standby)) ? true : undefined));
    return standby;
  };
  let operatorKubeconfig: string;
  let workerKubeconfig: string;
  const controllerEnv = (id: string): Record<string, string> => ({
    CONTROLLER_MODE: 'kubernetes',
    KUBECONFIG: operatorKubeconfig,
    KUBE_NAMESPACE: NS,
    POD_NAME: id,
    STATE_DIR: stateDir,
    MODEL_ROOTS: repoPath('models'),
    WORKER_IMAGE: 'registry.example/infergraph:test',
    WORKER_SERVICE_ACCOUNT: 'infergraph-worker',
    WORKER_TOKEN_SECRET: 'infergraph-cluster-token',
    WORKER_CONTROL_TLS_SECRET: 'infergraph-control-tls',
    CONTROLLER_SERVICE: 'infergraph-controller.infergraph-test.svc:9000',
    GATEWAY_REST_URL: 'http://infergraph-gateway.infergraph-test.svc:8080',
    GATEWAY_GRPC_URL: 'infergraph-gateway.infergraph-test.svc:8081',
    SYNC_WINDOW_MS: '1500',
    HEARTBEAT_TIMEOUT_MS: '2000',
    AUTOSCALE_UP_AFTER_MS: '1000',
    AUTOSCALE_IDLE_MS: '3000',
  });
  const cpuWorker = { WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3) };

  before(async () => {
    cp = await startTestControlPlane();
    scratch = mkdtempSync(path.join(tmpdir(), 'infergraph-operator-state-'));
    writeFileSync(path.join(scratch, 'not-a-directory'), '');
    stateDir = path.join(scratch, 'not-a-directory', 'state');
    emptyGraphs = mkdtempSync(path.join(tmpdir(), 'infergraph-operator-graphs-'));
    const crds = await cp.kubectl(['apply', '-f', repoPath('deploy', 'crds')]);
    assert.equal(crds.code, 0, crds.stderr);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/inferencegraphs.infergraph.dev', 'crd/workerpools.infergraph.dev']);
    // The controllers run as a ServiceAccount with only the operator's Role (the chart's rules), not as admin.
    operatorKubeconfig = await cp.serviceAccountKubeconfig(NS, 'infergraph-controller'); // creates the namespace too
    const role = await cp.kubectl(['apply', '-n', NS, '-f', '-'], { input: JSON.stringify(OPERATOR_RBAC) });
    assert.equal(role.code, 0, role.stderr);
    // The pool pods' ServiceAccount (the chart's <fullname>-worker, bound to no Role): Pods naming a missing one are refused.
    workerKubeconfig = await cp.serviceAccountKubeconfig(NS, 'infergraph-worker');
    // Two controllers of one "Deployment": the first leads, the second stands by.
    const first = await startController(undefined, controllerEnv('controller-a'));
    controllers.push(first);
    await eventually('controller-a leads', async () => ((await leads(first)) ? true : undefined));
    controllers.push(await startController(undefined, controllerEnv('controller-b')));
    await apply({ apiVersion: 'infergraph.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'cpu', namespace: NS }, spec: { replicas: { min: 2, max: 3 }, resources: { cpu: '2', memory: '2Gi' } } });
    const pods = await eventually('two Pods of the cpu pool', async () => ((await podsOf('cpu')).length === 2 ? true : undefined));
    assert.ok(pods);
    await startPoolWorkers('cpu', cpuWorker);
    const [port, grpc] = [await freePort(), await freePort()];
    gateway = await startGateway({ PORT: String(port), GRPC_PORT: String(grpc), GRAPHS_DIR: emptyGraphs, CONTROLLER: controlList(), MODEL_ROOTS: repoPath('models') }, { waitReady: false });
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([...workers.values()].map((w) => w.kill()));
    for (const c of controllers) c.process.kill('SIGKILL');
    await cp?.close();
    for (const dir of [scratch, emptyGraphs]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the standby is Ready but does not serve the control plane while the leader does', async () => {
    const [a, b] = controllers as [RunningController, RunningController];
    assert.equal(await leads(a), true);
    // Ready (its caches are warm: it can take over), so a rolling update and helm --wait can go on ...
    await eventually('controller-b Ready as a standby', async () => ((await ready(b)) ? true : undefined));
    const body = (await (await fetch(`${b.base}/healthz/ready`)).json()) as { role: string; leader: boolean };
    assert.deepEqual([body.role, body.leader], ['standby', false]);
    // ... while workers and gateways, which try every controller address, can only connect to the leader.
    assert.deepEqual([await listens(a), await listens(b)], [true, false]);
    const holder = await kubectl(['get', 'lease', 'infergraph-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(holder, 'controller-a');
    // The controllers act with the operator's Role only: no Secrets.
    const secrets = await cp.kubectl(['get', 'secrets', '-n', NS], { kubeconfig: operatorKubeconfig });
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden/);
    // The API server is the only source of graphs: the admin API refuses to change them.
    const put = await fetch(`${a.base}/v1/graphs/posted`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: 'apiVersion: infergraph.dev/v1alpha1' });
    assert.equal(put.status, 403);
    assert.match(await put.text(), /InferenceGraph objects with kubectl/);
  });

  it('turns an applied InferenceGraph Ready within seconds and serves it through the gateway, answering as the model does', async () => {
    const appliedAt = performance.now();
    await apply(exampleGraph('iris.yaml', 'iris'));
    const g = await eventually('iris Ready', async () => {
      const obj = await getGraph('iris');
      return condition(obj, 'Ready')?.status === 'True' ? obj : undefined;
    });
    console.log(`[operator] iris Ready ${performance.now() - appliedAt} ms after kubectl apply`);
    assert.equal(g.status?.observedGeneration, g.metadata.generation);
    assert.equal(condition(g, 'Ready')?.reason, 'AllReplicasReady');
    assert.equal(condition(g, 'Degraded')?.status, 'False');
    assert.deepEqual(
      g.status?.nodes?.map((n) => [n.name, n.readyReplicas === n.wantedReplicas && n.wantedReplicas > 0]),
      [
        ['standardize', true],
        ['classifier', true],
        ['species', true],
      ],
    );
    assert.deepEqual(g.status?.endpoints, { rest: 'http://infergraph-gateway.infergraph-test.svc:8080/v2/models/iris', grpc: 'infergraph-gateway.infergraph-test.svc:8081' });
    const res = await eventually('iris answers through the gateway', async () => {
      const r = await request(gateway, 'POST', '/v2/models/iris/infer', irisBody);
      return r.status === 200 ? r : undefined;
    });
    const labels = (res.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'label')?.data;
    const golden = JSON.parse(readFileSync(repoPath('models', 'iris-logreg-core', '1', 'golden.json'), 'utf8')) as { labels: number[] };
    assert.deepEqual(labels, golden.labels);
  });

  it('makes worker pods secure by default: the worker ServiceAccount without a token, credentials from Secret volumes, non-root on a read-only root filesystem', async () => {
    const d = (await getDeployment('cpu-workers')) as unknown as {
      spec: {
        template: {
          spec: {
            serviceAccountName?: string;
            automountServiceAccountToken?: boolean;
            securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
            volumes: { name: string; secret?: { secretName: string; defaultMode?: number; items?: { key: string }[] } }[];
            containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]; securityContext: Record<string, unknown> }[];
          };
        };
      };
    };
    const pod = d.spec.template.spec;
    const container = pod.containers[0];
    assert.ok(container !== undefined);
    assert.equal(pod.serviceAccountName, 'infergraph-worker');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok((pod.securityContext.runAsUser ?? 0) > 0);
    assert.deepEqual([container.securityContext['readOnlyRootFilesystem'], container.securityContext['allowPrivilegeEscalation']], [true, false]);
    const secrets = Object.fromEntries(pod.volumes.flatMap((v) => (v.secret === undefined ? [] : [[v.name, [v.secret.secretName, v.secret.defaultMode, v.secret.items?.map((i) => i.key)]]])));
    assert.deepEqual(secrets, {
      'cluster-token': ['infergraph-cluster-token', 0o440, ['token']],
      'control-tls': ['infergraph-control-tls', 0o440, ['ca.crt', 'tls.crt', 'tls.key']],
    });
    const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, [m.mountPath, m.readOnly === true]]));
    assert.deepEqual([mounts['cluster-token'], mounts['control-tls']], [['/etc/infergraph/cluster-token', true], ['/etc/infergraph/control-tls', true]]);
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    assert.equal(env['CLUSTER_TOKEN_FILE'], '/etc/infergraph/cluster-token/token');
    assert.deepEqual([env['CONTROL_TLS_CA'], env['CONTROL_TLS_CERT'], env['CONTROL_TLS_KEY']], ['/etc/infergraph/control-tls/ca.crt', '/etc/infergraph/control-tls/tls.crt', '/etc/infergraph/control-tls/tls.key']);
    assert.ok(!container.env.some((e) => e.valueFrom?.secretKeyRef !== undefined), 'no secret in a variable');
    // The ServiceAccount the pods run as may do nothing with the API.
    for (const what of [['get', 'pods'], ['get', 'secrets'], ['get', 'inferencegraphs']]) {
      const r = await cp.kubectl([...what, '-n', NS], { kubeconfig: workerKubeconfig });
      assert.notEqual(r.code, 0, `the worker ServiceAccount could ${what.join(' ')}`);
      assert.match(r.stderr, /forbidden/);
    }
  });

  it('sends graphs to workers and the gateway over the control plane: no graph file is written or read', async () => {
    // The controllers run with a STATE_DIR that cannot exist, and the file the control messages name (a
    // name in the models directory, where the graph's relative paths pointed) is not there either.
    assert.equal(existsSync(stateDir), false);
    assert.equal(existsSync(repoPath('models', 'iris.yaml')), false);
    const leader = controllers[0] as RunningController;
    const graphs = (await (await fetch(`${leader.base}/v1/graphs`)).json()) as { graphs: { name: string; source: string; state: string }[] };
    assert.deepEqual(graphs.graphs.find((g) => g.name === 'iris'), { ...graphs.graphs.find((g) => g.name === 'iris'), source: 'kubernetes', state: 'valid' });
    assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', irisBody)).status, 200);
    for (const [pod, worker] of workers) assert.doesNotMatch(worker.output(), /refused|no graph document/, pod);
  });

  it('reports an unplaceable graph as Degraded with placement’s reason', async () => {
    await apply(scaleGraph('too-big', { resources: { cpu: 64 } }));
    const g = await eventually('too-big Degraded', async () => {
      const obj = await getGraph('too-big');
      return condition(obj, 'Degraded')?.status === 'True' ? obj : undefined;
    });
    assert.equal(condition(g, 'Degraded')?.reason, 'Unplaceable');
    assert.match(condition(g, 'Degraded')?.message ?? '', /too-big\.log replica 0: .*needs cpu 64, largest free is/);
    assert.equal(condition(g, 'Ready')?.status, 'False');
    assert.match(g.status?.nodes?.[0]?.pending ?? '', /needs cpu 64/);
    assert.ok((await eventsAbout('InferenceGraph', 'too-big')).includes('Warning Unplaceable'));
    // No worker of the pool could ever hold it: the pool does not grow for it.
    await sleep(2000);
    assert.equal((await getDeployment('cpu-workers'))?.spec.replicas, 2);
    await kubectl(['delete', 'inferencegraph', 'too-big']);
  });

  it('serves versions of one graph from InferenceGraphs labelled with its name, side by side; a second object for a served version is refused, and takes it when the holder goes', async () => {
    const version = (object: string, v: string, mean: number[]): Record<string, unknown> => {
      const g = exampleGraph('iris.yaml', object, (spec) => {
        spec['version'] = v;
        // Small replicas: three versions of three nodes, two replicas each, beside the other tests' graphs.
        for (const node of spec['nodes'] as Record<string, unknown>[]) node['resources'] = { cpu: '50m' };
        const steps = ((spec['nodes'] as { transformer?: { steps: { mean?: number[] }[] } }[])[0]?.transformer?.steps ?? []) as { mean?: number[] }[];
        (steps[0] as { mean?: number[] }).mean = mean;
      });
      (g['metadata'] as Record<string, unknown>)['labels'] = { 'infergraph.dev/graph': 'ab' };
      return g;
    };
    const probabilities = async (modelPath: string): Promise<string | undefined> => {
      const r = await request(gateway, 'POST', `/v2/models/${modelPath}/infer`, irisBody);
      return r.status === 200 ? JSON.stringify((r.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'probabilities')?.data) : undefined;
    };
    await apply(version('ab-v1', '1', [5.88, 3.07, 3.76, 1.19]));
    await apply(version('ab-v2', '2', [4.0, 2.0, 2.0, 0.5]));
    for (const object of ['ab-v1', 'ab-v2']) {
      await eventually(`${object} Ready`, async () => (condition(await getGraph(object), 'Ready')?.status === 'True' ? true : undefined)).catch(async (err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}; status: ${JSON.stringify((await getGraph(object))?.status)}`);
      });
    }
    assert.equal((await getGraph('ab-v2'))?.status?.endpoints?.rest, 'http://infergraph-gateway.infergraph-test.svc:8080/v2/models/ab/versions/2');
    const v1 = await eventually('version 1 answers', () => probabilities('ab/versions/1'));
    const v2 = await eventually('version 2 answers', () => probabilities('ab/versions/2'));
    assert.notEqual(v1, v2, 'each version answers with its own outputs');
    assert.equal(await probabilities('ab'), v2, 'the unversioned path reaches the latest version');
    const listed = (await request(gateway, 'GET', '/v2/models/ab')).body as { versions?: string[] };
    assert.deepEqual([...(listed.versions ?? [])].sort(), ['1', '2']);
    // A third object for version 2: Degraded, naming the object that serves it; version 2 keeps its outputs.
    await apply(version('ab-copy', '2', [6.5, 3.0, 5.0, 2.0]));
    const refused = await eventually('ab-copy Degraded', async () => {
      const obj = await getGraph('ab-copy');
      return condition(obj, 'Degraded')?.status === 'True' ? obj : undefined;
    });
    assert.match(condition(refused, 'Degraded')?.message ?? '', /graph "ab" version "2" is served by InferenceGraph infergraph-test\/ab-v2 already/);
    assert.equal(await probabilities('ab/versions/2'), v2);
    // The holder goes: the refused object serves version 2 now, with its own outputs, and version 1 never stopped.
    await kubectl(['delete', 'inferencegraph', 'ab-v2']);
    await eventually('ab-copy Ready', async () => (condition(await getGraph('ab-copy'), 'Ready')?.status === 'True' ? true : undefined));
    const copy = await eventually('version 2 answers as ab-copy', async () => {
      const p = await probabilities('ab/versions/2');
      return p !== undefined && p !== v2 ? p : undefined;
    });
    assert.notEqual(copy, v1);
    assert.equal(await probabilities('ab/versions/1'), v1);
    await kubectl(['delete', 'inferencegraph', 'ab-v1', 'ab-copy']);
  });

  it('reports an invalid spec as Degraded/InvalidSpec naming the field', async () => {
    await apply(
      exampleGraph('iris.yaml', 'broken', (spec) => {
        const classifier = (spec['nodes'] as { model?: { uri: string; sha256?: string } }[])[1];
        if (classifier !== undefined) classifier.model = { uri: 'no-such-model/model.onnx' };
      }),
    );
    const appliedAt = performance.now();
    const g = await eventually('broken Degraded', async () => {
      const obj = await getGraph('broken');
      return condition(obj, 'Degraded')?.status === 'True' ? obj : undefined;
    });
    const statusMs = performance.now() - appliedAt;
    console.log(`[operator] InvalidSpec in the status ${statusMs} ms after kubectl apply returned`);
    assert.ok(statusMs <= 1000, `the status took ${statusMs} ms`);
    assert.equal(condition(g, 'Degraded')?.reason, 'InvalidSpec');
    assert.match(condition(g, 'Degraded')?.message ?? '', /spec\.nodes\[1\]\.model\.uri/);
    assert.equal(g.status?.observedGeneration, g.metadata.generation);
    assert.equal((await request(gateway, 'POST', '/v2/models/broken/infer', irisBody)).status, 404);
    await kubectl(['delete', 'inferencegraph', 'broken']);
  });

  it('makes a GPU pool’s Deployment with nvidia.com/gpu, its node selector and tolerations, and scales it up within max for a pending graph, and owns it (re-created when deleted, gone with its pool)', async () => {
    await apply({
      apiVersion: 'infergraph.dev/v1alpha1',
      kind: 'WorkerPool',
      metadata: { name: 'gpu', namespace: NS },
      spec: {
        replicas: { min: 0, max: 2 },
        resources: { cpu: '4', memory: '8Gi', gpu: 1, gpuMemory: '16Gi' },
        nodeSelector: { 'nvidia.com/gpu.present': 'true' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      },
    });
    const d = await eventually('the gpu-workers Deployment', () => getDeployment('gpu-workers'));
    const pod = d.spec.template.spec;
    const container = pod.containers[0];
    assert.equal(container?.resources.limits['nvidia.com/gpu'], '1');
    assert.equal(container?.resources.requests['nvidia.com/gpu'], '1');
    assert.deepEqual(pod.nodeSelector, { 'nvidia.com/gpu.present': 'true' });
    assert.deepEqual(pod.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.deepEqual(container?.env.find((e) => e.name === 'WORKER_ID')?.valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } });
    assert.deepEqual(d.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['WorkerPool', 'gpu']]);
    assert.equal(d.spec.replicas, 0);

    // A graph for the GPU pool: pending (no worker), so the pool grows by one, up to its max.
    await apply(scaleGraph('on-gpu', { resources: { pool: 'gpu', cpu: 1, gpuMemory: '1Gi' } }));
    const grown = await eventually('gpu-workers scaled to 1', async () => {
      const now = await getDeployment('gpu-workers');
      return now?.spec.replicas === 1 ? now : undefined;
    });
    assert.equal(grown.spec.replicas, 1);
    await eventually('a ScaledUp event on the pool', async () => ((await eventsAbout('WorkerPool', 'gpu')).includes('Normal ScaledUp') ? true : undefined), 5000);
    await eventually('a Pod of the gpu pool', async () => ((await podsOf('gpu')).length === 1 ? true : undefined));
    // What the scheduler writes when no node has a free GPU (there is no scheduler here; the test writes it).
    const [gpuPod] = await podsOf('gpu');
    const unschedulable = { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }] } };
    await kubectl(['patch', 'pod', gpuPod as string, '--subresource=status', '--type=merge', '-p', JSON.stringify(unschedulable)]);
    const degradedPool = await eventually('the gpu pool Degraded/Unschedulable', async () => {
      const p = JSON.parse(await kubectl(['get', 'workerpool', 'gpu', '-o', 'json'])) as { status?: { conditions?: Condition[] } };
      const c = p.status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.reason === 'Unschedulable' ? c : undefined;
    }, 5000);
    assert.match(degradedPool.message, /1 pod\(s\) cannot be scheduled: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\./);
    await startPoolWorkers('gpu', { WORKER_CPU: '4', WORKER_MEMORY: String(8 * 1024 ** 3), WORKER_GPUS: '1', WORKER_GPU_MEMORY: String(16 * 1024 ** 3) });
    await eventually('on-gpu Ready on the new worker', async () => (condition(await getGraph('on-gpu'), 'Ready')?.status === 'True' ? true : undefined));
    const pool = JSON.parse(await kubectl(['get', 'workerpool', 'gpu', '-o', 'json'])) as { status?: { replicas?: number; joinedWorkers?: number } };
    assert.deepEqual([pool.status?.replicas, pool.status?.joinedWorkers], [1, 1]);
    // Replicas pending for capacity on the cpu pool (two workers of 2 cores, three replicas of 1 core
    // beside iris): one more worker, never past max (3).
    await apply(scaleGraph('wide', { resources: { cpu: 1 }, replicas: 3 }));
    const cpu = await eventually('cpu-workers scaled to 3', async () => {
      const now = await getDeployment('cpu-workers');
      return now?.spec.replicas === 3 ? now : undefined;
    });
    assert.equal(cpu.spec.replicas, 3);
    await eventually('a third Pod of the cpu pool', async () => ((await podsOf('cpu')).length === 3 ? true : undefined));
    await startPoolWorkers('cpu', cpuWorker);
    await eventually('wide Ready', async () => (condition(await getGraph('wide'), 'Ready')?.status === 'True' ? true : undefined));
    await sleep(2000);
    assert.equal((await getDeployment('cpu-workers'))?.spec.replicas, 3, 'the pool stays within max');
    await kubectl(['delete', 'inferencegraph', 'on-gpu', 'wide']);

    // The operator owns the Deployment: deleted by hand, it comes back; with its WorkerPool deleted, it goes.
    const uid = (d: DeploymentObject | undefined): string | undefined => (d?.metadata as { uid?: string } | undefined)?.uid;
    const firstUid = uid(await getDeployment('gpu-workers'));
    await kubectl(['delete', 'deployment', 'gpu-workers']);
    await eventually('gpu-workers re-created', async () => {
      const d = await getDeployment('gpu-workers');
      return d !== undefined && uid(d) !== firstUid ? true : undefined;
    }, 10_000);
    await kubectl(['delete', 'workerpool', 'gpu']);
    await eventually('gpu-workers removed with its WorkerPool', async () => ((await getDeployment('gpu-workers')) === undefined ? true : undefined), 20_000);
  });

  it('scales an idle pool down to its min once its workers hold nothing, and never below it', async () => {
    await apply({ apiVersion: 'infergraph.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'burst', namespace: NS }, spec: { replicas: { min: 1, max: 2 }, resources: { cpu: '1', memory: '1Gi' } } });
    await eventually('burst-workers with its min (1)', async () => ((await getDeployment('burst-workers'))?.spec.replicas === 1 ? true : undefined));
    await eventually('a Pod of the burst pool', async () => ((await podsOf('burst')).length === 1 ? true : undefined));
    const burstWorker = { WORKER_CPU: '1', WORKER_MEMORY: String(1024 ** 3) };
    const started = await startPoolWorkers('burst', burstWorker);
    // Two replicas of one core each: one more worker (pending for capacity, as in the scale-up test).
    await apply(scaleGraph('bursty', { resources: { pool: 'burst', cpu: 1 }, replicas: 2 }));
    await eventually('burst-workers scaled to 2', async () => ((await getDeployment('burst-workers'))?.spec.replicas === 2 ? true : undefined));
    await eventually('two Pods of the burst pool', async () => ((await podsOf('burst')).length === 2 ? true : undefined));
    started.push(...(await startPoolWorkers('burst', burstWorker)));
    await eventually('bursty Ready on both workers', async () => (condition(await getGraph('bursty'), 'Ready')?.status === 'True' ? true : undefined));
    // Nothing left for the pool: both workers idle, nothing pending; after AUTOSCALE_IDLE_MS it shrinks to min.
    await kubectl(['delete', 'inferencegraph', 'bursty']);
    await eventually('burst-workers scaled down to 1', async () => ((await getDeployment('burst-workers'))?.spec.replicas === 1 ? true : undefined), 20_000);
    await eventually('a ScaledDown event on the pool', async () => ((await eventsAbout('WorkerPool', 'burst')).includes('Normal ScaledDown') ? true : undefined), 5000);
    // Never below min: the two local workers stay joined and idle (there is no kubelet to stop the removed
    // Pod's process), a surplus that lasts longer than AUTOSCALE_IDLE_MS, and the pool stays at 1.
    await sleep(4500);
    assert.equal((await getDeployment('burst-workers'))?.spec.replicas, 1);
    const leader = controllers[0] as RunningController;
    const joined = ((await (await fetch(`${leader.base}/v1/cluster`)).json()) as { workers: { pool: string; replicas: number }[] }).workers.filter((w) => w.pool === 'burst');
    assert.deepEqual(joined.map((w) => w.replicas), [0, 0], 'two idle workers joined');
    const pool = JSON.parse(await kubectl(['get', 'workerpool', 'burst', '-o', 'json'])) as { status?: { replicas?: number } };
    assert.equal(pool.status?.replicas, 1);
    for (const pod of started) {
      await workers.get(pod)?.kill();
      workers.delete(pod);
    }
    await kubectl(['delete', 'workerpool', 'burst']);
  });

  it('replaces an edited graph under constant load: new outputs, no failed request', async () => {
    const withMean = (mean: number[]) =>
      exampleGraph('iris.yaml', 'iris-edit', (spec) => {
        const steps = ((spec['nodes'] as { transformer?: { steps: { mean?: number[] }[] } }[])[0]?.transformer?.steps ?? []) as { mean?: number[] }[];
        (steps[0] as { mean?: number[] }).mean = mean;
      });
    const probabilities = async (): Promise<string> => {
      const r = await request(gateway, 'POST', '/v2/models/iris-edit/infer', irisBody);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return JSON.stringify((r.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'probabilities')?.data);
    };
    await apply(withMean([5.88, 3.07, 3.76, 1.19]));
    await eventually('iris-edit Ready', async () => (condition(await getGraph('iris-edit'), 'Ready')?.status === 'True' ? true : undefined));
    const first = await eventually('iris-edit answers', () => probabilities().catch(() => undefined));
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-edit/infer`, 100, 8000, irisBody);
    await sleep(1500);
    const editedAt = performance.now();
    await apply(withMean([4.0, 2.0, 2.0, 0.5]));
    await eventually('the new outputs', async () => ((await probabilities()) !== first ? true : undefined), 10_000);
    const switchMs = performance.now() - editedAt;
    const g = await eventually('generation 2 observed and Ready', async () => {
      const obj = await getGraph('iris-edit');
      return obj?.status?.observedGeneration === 2 && condition(obj, 'Ready')?.status === 'True' ? obj : undefined;
    });
    assert.equal(g.metadata.generation, 2);
    const summary = await load.done;
    console.log(`[operator] edited iris-edit: new outputs after ${switchMs} ms; ${summary.sent} sent, ${describeFailures(summary)}`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('forgets a deleted graph: the gateway answers 404 and its replicas are unloaded', async () => {
    await kubectl(['delete', 'inferencegraph', 'iris-edit']);
    await eventually('iris-edit 404 on the gateway', async () => ((await request(gateway, 'POST', '/v2/models/iris-edit/infer', irisBody)).status === 404 ? true : undefined), 10_000);
    assert.equal(await getGraph('iris-edit'), undefined);
    const leader = controllers[0] as RunningController;
    const cluster = (await (await fetch(`${leader.base}/v1/cluster`)).json()) as { graphs: { name: string }[] };
    assert.ok(!cluster.graphs.some((g) => g.name === 'iris-edit'), JSON.stringify(cluster.graphs.map((g) => g.name)));
    assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', irisBody)).status, 200, 'the other graphs keep serving');
  });

  it('lets the standby take the Lease within 15 s of a kill -9 of the leader, losing no request', async () => {
    const [a, b] = controllers as [RunningController, RunningController];
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris/infer`, 100, 25_000, irisBody);
    await sleep(2000);
    const killedAt = performance.now();
    a.process.kill('SIGKILL');
    await eventually('controller-b leads', async () => ((await leads(b)) ? true : undefined), 15_000);
    const takeoverMs = performance.now() - killedAt;
    const holder = await kubectl(['get', 'lease', 'infergraph-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(holder, 'controller-b');
    // The new leader adopts what the workers hold and keeps writing status.
    await everyWorkerRejoined(b, 'controller-b');
    await apply(scaleGraph('after-failover', {}));
    await eventually('after-failover Ready through controller-b', async () => (condition(await getGraph('after-failover'), 'Ready')?.status === 'True' ? true : undefined));
    const summary = await load.done;
    console.log(`[operator] kill -9 leader: controller-b led after ${takeoverMs} ms; ${summary.sent} sent at ${summary.rate}/s, ${describeFailures(summary)}`);
    assert.ok(takeoverMs <= 15_000, `takeover took ${takeoverMs} ms`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('hands over at once when the leader is stopped (SIGTERM): it closes its control plane and releases the Lease, losing no request', async () => {
    const b = controllers[1] as RunningController;
    const c = await standbyAt(0, 'controller-c');
    assert.equal(await leads(c), false);
    assert.equal(await listens(c), false, 'a standby does not listen on the control port');
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris/infer`, 100, 15_000, irisBody);
    await sleep(2000);
    const stoppedAt = performance.now();
    // NestJS re-raises the signal once its shutdown hooks are done: a clean stop ends by SIGTERM, not a code.
    const exited = new Promise<string>((resolve) => b.process.once('exit', (code, signal) => resolve(signal ?? `code ${String(code)}`)));
    b.process.kill('SIGTERM');
    await eventually('controller-c leads', async () => ((await leads(c)) ? true : undefined), 10_000);
    const handoverMs = performance.now() - stoppedAt;
    assert.equal(await kubectl(['get', 'lease', 'infergraph-controller', '-o', 'jsonpath={.spec.holderIdentity}']), 'controller-c');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'still running')]);
    await everyWorkerRejoined(c, 'controller-c');
    const summary = await load.done;
    console.log(`[operator] SIGTERM leader: controller-c led after ${handoverMs} ms; controller-b ended by ${code}; ${describeFailures(summary)}`);
    assert.equal(code, 'SIGTERM', 'the stopped leader finishes its shutdown and exits');
    assert.ok(handoverMs < 6000, `hand-over took ${handoverMs} ms: the lease was not released (its duration is 10 s)`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    // Everything the operator did, it did within its Role.
    for (const controller of [b, c]) assert.doesNotMatch(controller.output(), /forbidden/i);
  });

  it('keeps serving through a kube-apiserver killed (-9) for longer than the renew deadline: the leader steps down, a standby leads once the API is back and applies new graphs, and no request fails', async () => {
    const c = controllers[0] as RunningController;
    const d = await standbyAt(1, 'controller-d');
    assert.equal(await leads(c), true);
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris/infer`, 100, 30_000, irisBody);
    await sleep(1500);
    const killedAt = performance.now();
    const exited = new Promise<string>((resolve) => c.process.once('exit', (code, signal) => resolve(signal ?? `code ${String(code)}`)));
    await cp.killApiServer();
    // The leader cannot renew: past the renew deadline (6 s of a 10 s lease) it stops acting and exits, to come
    // back as a standby (its pod restarts), before another could take the lease.
    const code = await Promise.race([exited, sleep(15_000).then(() => 'still running')]);
    const stepDownMs = performance.now() - killedAt;
    assert.equal(code, 'code 1', c.output().slice(-2000));
    assert.match(c.output(), /lost leadership \(.*\); exiting so this pod restarts as a standby/);
    const restartAt = performance.now();
    await cp.startApiServer();
    const backAt = performance.now();
    // Log lines carry wall-clock times: the moment the API was back, on the same clock.
    const backAtWall = Date.now();
    await eventually('controller-d leads', async () => ((await leads(d)) ? true : undefined), 20_000);
    const takeoverMs = performance.now() - backAt;
    assert.equal(await kubectl(['get', 'lease', 'infergraph-controller', '-o', 'jsonpath={.spec.holderIdentity}']), 'controller-d');
    await everyWorkerRejoined(d, 'controller-d');
    // Its watches came back with the API server: a graph applied now is served.
    await apply(scaleGraph('after-api-outage', {}));
    await eventually('after-api-outage Ready through controller-d', async () => (condition(await getGraph('after-api-outage'), 'Ready')?.status === 'True' ? true : undefined));
    const x = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0, 1] }] };
    const answer = await eventually('after-api-outage answers', async () => {
      const r = await request(gateway, 'POST', '/v2/models/after-api-outage/infer', x);
      return r.status === 200 ? (r.body as { outputs: { data: number[] }[] }) : undefined;
    }, 15_000);
    assert.ok(Math.abs((answer.outputs[0]?.data[1] ?? 0) - Math.log(2)) < 1e-6, JSON.stringify(answer));
    const summary = await load.done;
    console.log(`[operator] kube-apiserver kill -9: the leader stepped down after ${stepDownMs} ms; the API server was ready ${backAt - restartAt} ms after its start; controller-d led ${takeoverMs} ms after that; ${summary.sent} sent at ${summary.rate}/s, ${describeFailures(summary)}`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    // A kube-apiserver just back answers 403 for some milliseconds, until its RBAC caches hold the Role again
    // (seen here: /readyz is 200 by then). The operator retries through that; after it, nothing is refused.
    const refusedLater = d
      .output()
      .split('\n')
      .filter((line) => /forbidden/i.test(line) && Date.parse((/"time":"([^"]+)"/.exec(line) ?? [])[1] ?? '') > backAtWall + 5000);
    assert.deepEqual(refusedLater, []);
  });
});
