import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { k8sBin, startTestControlPlane, writeKubeconformSchemas, type K8sBin, type TestControlPlane } from '../support/kube';
import { repoPath } from '../support/repo';

// Real parts: kube-apiserver, etcd, kube-controller-manager, kubectl, helm and kubeconform built from the Go
// module proxy (scripts/k8s/tools.mjs), on loopback with TLS, token auth and RBAC; the chart in
// deploy/helm/infergraph and the generated CRDs. No scheduler and no kubelet: Pods stay Pending, so the
// assertions are on the objects the API server stores and on what it accepts or refuses.

const CHART = repoPath('deploy', 'helm', 'infergraph');
const NAMESPACE = 'infergraph-test';
const RELEASE = 'ig';
const FULLNAME = `${RELEASE}-infergraph`;

/** Every option the chart has switched on: GPU pool, ServiceMonitor, models PVC, secrets by name, Kafka. */
const ALL_OPTIONS = `
workerPools:
  gpu: {enabled: true}
monitoring:
  serviceMonitor: {enabled: true}
models:
  persistentVolumeClaim: infergraph-models
kafka: {brokers: "kafka-0.kafka:9092,kafka-1.kafka:9092", topicPrefix: prod}
clusterToken: {existingSecret: join-token}
controlTls: {existingSecret: control-tls}
nodeTls: {existingSecret: node-tls, serverName: workers.infergraph}
controller: {adminToken: {existingSecret: admin-token}}
gateway:
  tls: {existingSecret: gateway-tls}
  opsToken: {existingSecret: ops-token}
  predictAuth:
    apiKeys: {existingSecret: predict-keys}
    jwt: {jwksUrl: "https://idp.example/jwks.json", issuer: "https://idp.example", audience: infergraph}
`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HELM_CACHE_HOME: scratch('helm-cache'), HELM_CONFIG_HOME: scratch('helm-config'), HELM_DATA_HOME: scratch('helm-data') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let scratchDir = '';
function scratch(name: string): string {
  return path.join(scratchDir, name);
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> };

function documents(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

function containerOf(deployment: K8sObject): { env: { name: string; value?: string; valueFrom?: unknown }[]; args?: string[]; readinessProbe?: { httpGet?: { path: string } }; livenessProbe?: { httpGet?: { path: string } }; securityContext?: Record<string, unknown> } {
  const spec = deployment.spec as { template: { spec: { containers: ReturnType<typeof containerOf>[] } } };
  const container = spec.template.spec.containers[0];
  assert.ok(container !== undefined, `${deployment.metadata.name} has a container`);
  return container;
}

function envOf(deployment: K8sObject, name: string): string | undefined {
  return containerOf(deployment).env.find((e) => e.name === name)?.value;
}

describe('the Helm chart and the CRDs on a real API server', () => {
  let bin: K8sBin;
  let cp: TestControlPlane;
  let helm: (args: readonly string[], input?: string) => Promise<Run>;
  let allOptionsFile = '';

  before(async () => {
    scratchDir = mkdtempSync(path.join(tmpdir(), 'infergraph-chart-'));
    allOptionsFile = scratch('all-options.yaml');
    writeFileSync(allOptionsFile, ALL_OPTIONS);
    bin = await k8sBin();
    cp = await startTestControlPlane({ controllerManager: true });
    helm = (args, input) => run(bin.helm, [`--kubeconfig=${cp.kubeconfig}`, ...args], input);
  });

  after(async () => {
    await cp?.close();
    if (scratchDir !== '') rmSync(scratchDir, { recursive: true, force: true });
  });

  async function kubectlOk(args: readonly string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  async function getJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await kubectlOk([...args, '-o', 'json'])) as T;
  }

  it('passes helm lint --strict with the defaults and with every option on; appVersion is the package version', async () => {
    const chart = parse(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; appVersion: string };
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, pkg.version);
    for (const extra of [[], ['-f', allOptionsFile]]) {
      const lint = await run(bin.helm, ['lint', '--strict', CHART, ...extra]);
      assert.equal(lint.code, 0, `helm lint --strict ${extra.join(' ')}:\n${lint.stdout}\n${lint.stderr}`);
      assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
    // values.schema.json refuses a mistyped value, naming it.
    const bad = await run(bin.helm, ['template', RELEASE, CHART, '--set', 'workerPools.cpu.replicas.min=two']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /workerPools\/cpu\/replicas\/min/);
    const negative = await run(bin.helm, ['template', RELEASE, CHART, '--set', 'gateway.shutdownDelayMs=-1']);
    assert.notEqual(negative.code, 0);
    assert.match(negative.stderr, /gateway\/shutdownDelayMs/);
  });

  it('installs with helm: CRDs established, controller, gateway, RBAC and the CPU WorkerPool stored as the chart says', async () => {
    const install = await helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace']);
    assert.equal(install.code, 0, `helm install:\n${install.stdout}\n${install.stderr}`);
    assert.match(install.stdout, /infergraph 0\.1\.0 is installed/, 'NOTES.txt is shown');
    await kubectlOk(['wait', '--for=condition=Established', 'crd/inferencegraphs.infergraph.dev', 'crd/workerpools.infergraph.dev', '--timeout=30s']);

    const controller = await getJson<K8sObject>(['-n', NAMESPACE, 'get', 'deployment', `${FULLNAME}-controller`]);
    assert.equal((controller.spec as { replicas: number }).replicas, 2);
    // The standby is Ready too: one pod at a time, never none (and a PodDisruptionBudget keeps one).
    assert.deepEqual((controller.spec as { strategy: unknown }).strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const controllerPdb = await getJson<K8sObject>(['-n', NAMESPACE, 'get', 'poddisruptionbudget', `${FULLNAME}-controller`]);
    assert.equal(controllerPdb.spec?.['minAvailable'], 1);
    assert.deepEqual((controllerPdb.spec?.['selector'] as { matchLabels: unknown }).matchLabels, (controller.spec as { selector: { matchLabels: unknown } }).selector.matchLabels);
    // Pool workers: the worker ServiceAccount, the join token Secret mounted; graphs need no shared volume.
    assert.equal(envOf(controller, 'WORKER_SERVICE_ACCOUNT'), `${FULLNAME}-worker`);
    assert.equal(envOf(controller, 'WORKER_TOKEN_SECRET'), `${FULLNAME}-cluster-token`);
    assert.equal(envOf(controller, 'STATE_DIR'), undefined);
    assert.equal(envOf(controller, 'CONTROLLER_MODE'), 'kubernetes');
    assert.equal(envOf(controller, 'LEASE_NAME'), `${FULLNAME}-controller`);
    assert.deepEqual(containerOf(controller).env.find((e) => e.name === 'POD_NAME')?.valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } });
    assert.equal(containerOf(controller).readinessProbe?.httpGet?.path, '/healthz/ready');
    assert.equal(containerOf(controller).livenessProbe?.httpGet?.path, '/healthz');
    assert.deepEqual(containerOf(controller).args, ['dist/apps/controller/src/main.js']);

    const gateway = await getJson<K8sObject>(['-n', NAMESPACE, 'get', 'deployment', `${FULLNAME}-gateway`]);
    assert.equal(envOf(gateway, 'CONTROLLER'), `${FULLNAME}-controller.${NAMESPACE}.svc:9000`);
    assert.equal(containerOf(gateway).readinessProbe?.httpGet?.path, '/v2/health/ready');
    // A stopping gateway keeps answering, not ready, while the endpoints drop it, within its grace period.
    assert.equal(envOf(gateway, 'SHUTDOWN_DELAY_MS'), '5000');
    const graceSeconds = (gateway.spec as unknown as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec.terminationGracePeriodSeconds;
    assert.ok(5000 < 1000 * graceSeconds, `terminationGracePeriodSeconds ${graceSeconds}`);
    assert.equal(containerOf(gateway).livenessProbe?.httpGet?.path, '/v2/health/live');
    for (const d of [controller, gateway]) {
      const pod = (d.spec as { template: { spec: { securityContext: Record<string, unknown> } } }).template.spec;
      assert.equal(pod.securityContext['runAsNonRoot'], true);
      assert.equal(pod.securityContext['runAsUser'], 10001);
      assert.deepEqual(containerOf(d).securityContext, {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }

    const services = await getJson<{ items: K8sObject[] }>(['-n', NAMESPACE, 'get', 'services']);
    const ports = (name: string): number[] => ((services.items.find((s) => s.metadata.name === name)?.spec as { ports: { port: number }[] } | undefined)?.ports ?? []).map((p) => p.port);
    assert.deepEqual(ports(`${FULLNAME}-gateway`), [8080, 8081]);
    assert.deepEqual(ports(`${FULLNAME}-controller`), [9000, 8090]);
    // Headless: the name resolves to every controller pod; clients connect to the one listening, the leader.
    const controllerService = services.items.find((s) => s.metadata.name === `${FULLNAME}-controller`);
    assert.equal(controllerService?.spec?.['clusterIP'], 'None');
    assert.deepEqual(controllerService?.spec?.['selector'], (controller.spec as { selector: { matchLabels: unknown } }).selector.matchLabels, 'the Service selects both controller pods');
    const workerAccount = await getJson<{ automountServiceAccountToken?: boolean }>(['-n', NAMESPACE, 'get', 'serviceaccount', `${FULLNAME}-worker`]);
    assert.equal(workerAccount.automountServiceAccountToken, false);
    const workerCan = await cp.kubectl(['auth', 'can-i', '--list', '-n', NAMESPACE, `--as=system:serviceaccount:${NAMESPACE}:${FULLNAME}-worker`]);
    assert.doesNotMatch(workerCan.stdout, /infergraph\.dev|deployments|secrets|pods/, 'the worker ServiceAccount has no permissions of its own');
    await kubectlOk(['-n', NAMESPACE, 'get', `horizontalpodautoscaler/${FULLNAME}-gateway`, `poddisruptionbudget/${FULLNAME}-gateway`, `role/${FULLNAME}-controller`, `rolebinding/${FULLNAME}-controller`]);
    const accounts = (await getJson<{ items: K8sObject[] }>(['-n', NAMESPACE, 'get', 'serviceaccounts'])).items.map((s) => s.metadata.name);
    for (const component of ['controller', 'gateway', 'worker']) assert.ok(accounts.includes(`${FULLNAME}-${component}`), `ServiceAccount for the ${component}`);

    const pools = await getJson<{ items: K8sObject[] }>(['-n', NAMESPACE, 'get', 'workerpools']);
    assert.deepEqual(
      pools.items.map((p) => [p.metadata.name, p.spec?.['pool']]),
      [[`${FULLNAME}-cpu`, 'cpu']],
    );
    // No kubelet: the controller-manager made the ReplicaSets and Pods, which wait unscheduled.
    type Pods = { items: { metadata: { labels: Record<string, string> }; status: { phase: string } }[] };
    const controllerPods = (pods: Pods): number => pods.items.filter((p) => p.metadata.labels['app.kubernetes.io/name'] === 'infergraph-controller').length;
    let pods = await getJson<Pods>(['-n', NAMESPACE, 'get', 'pods']);
    for (const deadline = performance.now() + 30_000; controllerPods(pods) < 2 && performance.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250));
      pods = await getJson<Pods>(['-n', NAMESPACE, 'get', 'pods']);
    }
    assert.equal(controllerPods(pods), 2);
    assert.ok(pods.items.every((p) => p.status.phase === 'Pending'));
  });

  it('renders manifests that pass kubeconform -strict against schemas from this API server (CRDs included), defaults and every option', async () => {
    const location = await writeKubeconformSchemas(cp, scratch('schemas'));
    for (const extra of [[], ['-f', allOptionsFile]]) {
      const rendered = await run(bin.helm, ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...extra]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const objects = documents(rendered.stdout);
      // The ServiceMonitor's CRD (Prometheus Operator) is not in this API server: checked below by hand.
      const conform = await run(bin.kubeconform, ['-strict', '-summary', '-output', 'json', '-schema-location', location, '-skip', 'ServiceMonitor', '-'], rendered.stdout);
      assert.equal(conform.code, 0, `kubeconform ${extra.join(' ')}:\n${conform.stdout}\n${conform.stderr}`);
      const summary = (JSON.parse(conform.stdout) as { summary: { valid: number; invalid: number; errors: number; skipped: number } }).summary;
      assert.equal(summary.invalid + summary.errors, 0);
      assert.equal(summary.valid + summary.skipped, objects.length);
      assert.equal(summary.skipped, objects.filter((o) => o.kind === 'ServiceMonitor').length);
      const kinds = objects.map((o) => o.kind);
      assert.ok(kinds.includes('WorkerPool') && kinds.includes('HorizontalPodAutoscaler') && kinds.includes('PodDisruptionBudget'));
      // Worker pods take node calls only from this release's gateways; the control port only from gateways and workers.
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      const workersPolicy = policies.find((p) => p.metadata.name === `${FULLNAME}-workers`)?.spec as
        | { podSelector: { matchLabels: Record<string, string> }; ingress: { from?: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] }
        | undefined;
      assert.deepEqual(workersPolicy?.podSelector.matchLabels, { 'app.kubernetes.io/name': 'infergraph-worker' });
      const nodePort = workersPolicy?.ingress.find((r) => r.ports.some((p) => p.port === 9001));
      assert.deepEqual(nodePort?.from?.map((f) => f.podSelector.matchLabels), [{ 'app.kubernetes.io/name': 'infergraph-gateway', 'app.kubernetes.io/instance': RELEASE }]);
      assert.ok(policies.some((p) => p.metadata.name === `${FULLNAME}-controller`));
      if (extra.length > 0) {
        const gpu = objects.find((o) => o.kind === 'WorkerPool' && o.metadata.name === `${FULLNAME}-gpu`);
        assert.deepEqual((gpu?.spec as { resources: unknown }).resources, { cpu: '4', memory: '16Gi', gpu: 1, gpuMemory: '16Gi' });
        assert.deepEqual((gpu?.spec as { tolerations: unknown }).tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
        // The ServiceMonitor selects the release's Services and names ports they have.
        const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
        const monitorSpec = monitor?.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
        assert.equal(monitor?.apiVersion, 'monitoring.coreos.com/v1');
        const services = objects.filter((o) => o.kind === 'Service' && Object.entries(monitorSpec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
        const servicePorts = new Set(services.flatMap((s) => (s.spec as { ports: { name: string }[] }).ports.map((p) => p.name)));
        for (const endpoint of monitorSpec.endpoints) assert.ok(servicePorts.has(endpoint.port), `a selected Service has port ${endpoint.port}`);
        // Secrets are referenced by name, never rendered.
        assert.ok(!objects.some((o) => o.kind === 'Secret'), 'no Secret rendered when existing ones are named');
        const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULLNAME}-gateway`) as K8sObject;
        assert.equal(envOf(gateway, 'PREDICT_API_KEYS_FILE'), '/etc/infergraph/predict/api-keys');
        assert.equal(envOf(gateway, 'MODEL_ROOTS'), '/models');
        const controller = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULLNAME}-controller`) as K8sObject;
        assert.equal(envOf(controller, 'MODELS_PVC'), 'infergraph-models');
        assert.equal(envOf(controller, 'WORKER_TOKEN_SECRET'), 'join-token');
        assert.equal(envOf(controller, 'WORKER_CONTROL_TLS_SECRET'), 'control-tls');
        // Node calls under mutual TLS: pool workers get the Secret through the operator, gateways mount it and
        // check the workers' shared certificate name instead of pod IPs.
        assert.equal(envOf(controller, 'WORKER_NODE_TLS_SECRET'), 'node-tls');
        assert.deepEqual(['NODE_TLS_CA', 'NODE_TLS_CERT', 'NODE_TLS_KEY', 'NODE_TLS_SERVER_NAME'].map((n) => envOf(gateway, n)), [...['ca.crt', 'tls.crt', 'tls.key'].map((f) => `/etc/infergraph/node-tls/${f}`), 'workers.infergraph']);
        // The models volume is read-only everywhere (graphs are not files on it), and the control-plane
        // certificates are mounted where CONTROL_TLS_* point, in the controller and the gateway.
        for (const d of [controller, gateway]) {
          const pod = (d.spec as { template: { spec: { volumes: { name: string; persistentVolumeClaim?: { readOnly?: boolean }; secret?: { secretName: string } }[]; containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[] } } }).template.spec;
          assert.equal(pod.volumes.find((v) => v.name === 'models')?.persistentVolumeClaim?.readOnly, true, d.metadata.name);
          assert.equal(pod.containers[0]?.volumeMounts.find((m) => m.name === 'models')?.readOnly, true, d.metadata.name);
          assert.equal(pod.volumes.find((v) => v.name === 'control-tls')?.secret?.secretName, 'control-tls', d.metadata.name);
          assert.deepEqual(pod.containers[0]?.volumeMounts.find((m) => m.name === 'control-tls'), { name: 'control-tls', mountPath: '/etc/infergraph/control-tls', readOnly: true });
          assert.deepEqual(['CONTROL_TLS_CA', 'CONTROL_TLS_CERT', 'CONTROL_TLS_KEY'].map((n) => envOf(d, n)), ['ca.crt', 'tls.crt', 'tls.key'].map((f) => `/etc/infergraph/control-tls/${f}`));
        }
      }
    }
  });

  it('accepts every example graph as an InferenceGraph, and refuses invalid ones with the field in the message', async () => {
    const files = readdirSync(repoPath('graphs')).filter((f) => f.endsWith('.yaml'));
    for (const file of files) {
      const applied = await cp.kubectl(['-n', NAMESPACE, 'apply', '-f', '-'], { input: readFileSync(repoPath('graphs', file), 'utf8') });
      assert.equal(applied.code, 0, `graphs/${file}: ${applied.stderr}`);
    }
    const listed = await kubectlOk(['-n', NAMESPACE, 'get', 'infergraph', '-o', 'name']);
    for (const file of files) assert.match(listed, new RegExp(`inferencegraph\\.infergraph\\.dev/${path.basename(file, '.yaml')}\\b`));

    const graph = (spec: unknown): string => JSON.stringify({ apiVersion: 'infergraph.dev/v1alpha1', kind: 'InferenceGraph', metadata: { name: 'bad' }, spec });
    const node = { name: 'm', type: 'model', inputs: ['graph.inputs'], model: { uri: 'm.onnx' }, resources: { pool: 'cpu', cpu: 0.5, memory: '1Gi' } };
    const valid = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], nodes: [node], outputs: ['m.outputs.y'] };
    const cases: { what: string; spec: unknown; message: RegExp }[] = [
      { what: 'an unknown node type', spec: { ...valid, nodes: [{ ...node, type: 'magic' }] }, message: /spec\.nodes\[0\]\.type: Unsupported value: "magic"/ },
      { what: 'a bad memory quantity', spec: { ...valid, nodes: [{ ...node, resources: { memory: 'lots' } }] }, message: /spec\.nodes\[0\]\.resources\.memory: Invalid value: "lots"/ },
      { what: 'a bad cpu quantity', spec: { ...valid, nodes: [{ ...node, resources: { cpu: 'fast' } }] }, message: /spec\.nodes\[0\]\.resources\.cpu: Invalid value: "fast"/ },
      { what: 'missing inputs', spec: { nodes: valid.nodes, outputs: valid.outputs }, message: /spec\.inputs: Required value/ },
      { what: 'a model node without its model', spec: { ...valid, nodes: [{ name: 'm', type: 'model', inputs: ['graph.inputs'] }] }, message: /spec\.nodes\[0\]\.model: Required value/ },
      { what: 'an unknown field', spec: { ...valid, nodes: [{ ...node, colour: 'red' }] }, message: /unknown field "spec\.nodes\[0\]\.colour"/ },
      { what: "another node type's settings", spec: { ...valid, nodes: [{ ...node, router: { routes: [{ name: 'a', to: ['m'] }] } }] }, message: /"spec\.nodes\[0\]" must not validate the schema \(not\)/ },
      { what: 'an unknown transformer op', spec: { ...valid, nodes: [{ name: 't', type: 'transformer', inputs: ['graph.inputs'], transformer: { steps: [{ op: 'nope', tensor: 'x' }] } }, node] }, message: /spec\.nodes\[0\]\.transformer\.steps\[0\]\.op: Unsupported value: "nope"/ },
      { what: 'a shape with no dimensions', spec: { ...valid, inputs: [{ name: 'x', datatype: 'FP32', shape: [] }] }, message: /spec\.inputs\[0\]\.shape: Invalid value: 0: spec\.inputs\[0\]\.shape in body should have at least 1 items/ },
    ];
    for (const c of cases) {
      const r = await cp.kubectl(['-n', NAMESPACE, 'apply', '-f', '-'], { input: graph(c.spec) });
      assert.notEqual(r.code, 0, `${c.what} was accepted`);
      assert.match(r.stderr, c.message, `${c.what}: ${r.stderr}`);
    }
    const bad = await cp.kubectl(['-n', NAMESPACE, 'get', 'inferencegraph', 'bad', '--ignore-not-found', '-o', 'name']);
    assert.equal(bad.stdout.trim(), '');

    const pool = (spec: unknown): string => JSON.stringify({ apiVersion: 'infergraph.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'bad-pool' }, spec });
    const poolCases: { what: string; spec: unknown; message: RegExp }[] = [
      { what: 'max below min', spec: { replicas: { min: 3, max: 2 }, resources: { cpu: '1', memory: '2Gi' } }, message: /spec\.replicas\.max: Invalid value: .*must be >= replicas\.min/ },
      { what: 'a GPU without gpuMemory', spec: { replicas: { min: 1, max: 1 }, resources: { cpu: '1', memory: '2Gi', gpu: 1 } }, message: /spec\.resources\.gpuMemory: Invalid value: .*required when resources\.gpu > 0/ },
      { what: 'a bad toleration operator', spec: { replicas: { min: 1, max: 1 }, resources: { cpu: '1', memory: '2Gi' }, tolerations: [{ operator: 'Maybe' }] }, message: /spec\.tolerations\[0\]\.operator: Unsupported value: "Maybe"/ },
    ];
    for (const c of poolCases) {
      const r = await cp.kubectl(['-n', NAMESPACE, 'apply', '-f', '-'], { input: pool(c.spec) });
      assert.notEqual(r.code, 0, `${c.what} was accepted`);
      assert.match(r.stderr, c.message, `${c.what}: ${r.stderr}`);
    }
  });

  it("gives the controller's ServiceAccount exactly the operator's permissions: its resources and status, Deployments, Leases, and no Secrets", async () => {
    const kubeconfig = await cp.serviceAccountKubeconfig(NAMESPACE, `${FULLNAME}-controller`);
    const asController = (args: readonly string[], input?: string): Promise<Run> => cp.kubectl(['-n', NAMESPACE, ...args], input === undefined ? { kubeconfig } : { kubeconfig, input });
    const can = async (verb: string, resource: string, namespace = NAMESPACE): Promise<boolean> => {
      const [type, subresource] = resource.split('/');
      const r = await cp.kubectl(['auth', 'can-i', verb, type as string, '-n', namespace, ...(subresource === undefined ? [] : [`--subresource=${subresource}`])], { kubeconfig });
      return r.stdout.trim() === 'yes';
    };
    const allowed: [string, string][] = [
      ['list', 'inferencegraphs.infergraph.dev'],
      ['watch', 'workerpools.infergraph.dev'],
      ['update', 'inferencegraphs.infergraph.dev/status'],
      ['patch', 'workerpools.infergraph.dev/status'],
      ['create', 'deployments.apps'],
      ['delete', 'deployments.apps'],
      ['list', 'pods'],
      ['update', 'leases.coordination.k8s.io'],
      ['create', 'events'],
    ];
    const refused: [string, string][] = [
      ['get', 'secrets'],
      ['list', 'secrets'],
      ['update', 'inferencegraphs.infergraph.dev'],
      ['delete', 'workerpools.infergraph.dev'],
      ['create', 'pods'],
      ['create', 'roles.rbac.authorization.k8s.io'],
      ['get', 'configmaps'],
    ];
    for (const [verb, resource] of allowed) assert.equal(await can(verb, resource), true, `can ${verb} ${resource}`);
    for (const [verb, resource] of refused) assert.equal(await can(verb, resource), false, `cannot ${verb} ${resource}`);
    assert.equal(await can('list', 'inferencegraphs.infergraph.dev', 'default'), false, 'nothing outside its namespace');

    // Real requests with its token.
    const list = await asController(['get', 'inferencegraphs', '-o', 'name']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /inferencegraph\.infergraph\.dev\/iris\b/);
    const status = await asController(['patch', 'inferencegraph', 'iris', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { observedGeneration: 1, nodesReady: '0/3' } })]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((await getJson<{ status: { nodesReady: string } }>(['-n', NAMESPACE, 'get', 'inferencegraph', 'iris'])).status.nodesReady, '0/3');
    const secret = await asController(['get', 'secret', `${FULLNAME}-cluster-token`]);
    assert.notEqual(secret.code, 0);
    assert.match(secret.stderr, /Forbidden.*cannot get resource "secrets"/);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'probe-workers', labels: { 'app.kubernetes.io/managed-by': 'infergraph' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'probe' } }, template: { metadata: { labels: { app: 'probe' } }, spec: { containers: [{ name: 'c', image: 'infergraph' }] } } },
    };
    const created = await asController(['create', '-f', '-'], JSON.stringify(deployment));
    assert.equal(created.code, 0, created.stderr);
    const deleted = await asController(['delete', 'deployment', 'probe-workers']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('upgrades with helm: a changed value reaches the Deployment, the generated join token stays the same', async () => {
    const token = async (): Promise<string> => (await getJson<K8sObject>(['-n', NAMESPACE, 'get', 'secret', `${FULLNAME}-cluster-token`])).data?.['token'] ?? '';
    const before = await token();
    assert.ok(Buffer.from(before, 'base64').toString().length >= 16);
    const upgrade = await helm(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE, '--set', 'logFormat=text', '--set', 'kafka.brokers=kafka:9092']);
    assert.equal(upgrade.code, 0, `helm upgrade:\n${upgrade.stdout}\n${upgrade.stderr}`);
    const gateway = await getJson<K8sObject>(['-n', NAMESPACE, 'get', 'deployment', `${FULLNAME}-gateway`]);
    assert.equal(envOf(gateway, 'LOG_FORMAT'), 'text');
    assert.equal(envOf(gateway, 'KAFKA_BROKERS'), 'kafka:9092');
    assert.equal(await token(), before, 'the join token survives the upgrade (workers keep joining)');
    const history = await helm(['history', RELEASE, '--namespace', NAMESPACE, '-o', 'json']);
    assert.equal((JSON.parse(history.stdout) as unknown[]).length, 2);
  });

  it('uninstalls with helm: its objects are gone, the CRDs (and so the users\' graphs) stay', async () => {
    const uninstall = await helm(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '60s']);
    assert.equal(uninstall.code, 0, `helm uninstall:\n${uninstall.stdout}\n${uninstall.stderr}`);
    for (const kind of ['deployments', 'services', 'workerpools', 'roles', 'rolebindings', 'horizontalpodautoscalers', 'poddisruptionbudgets', 'secrets']) {
      const left = (await getJson<{ items: K8sObject[] }>(['-n', NAMESPACE, 'get', kind])).items.filter((o) => o.metadata.labels?.['app.kubernetes.io/instance'] === RELEASE);
      assert.deepEqual(
        left.map((o) => o.metadata.name),
        [],
        `${kind} left after uninstall`,
      );
    }
    await kubectlOk(['get', 'crd', 'inferencegraphs.infergraph.dev', 'workerpools.infergraph.dev']);
    assert.match(await kubectlOk(['-n', NAMESPACE, 'get', 'inferencegraph', 'iris', '-o', 'name']), /iris/);
  });
});
