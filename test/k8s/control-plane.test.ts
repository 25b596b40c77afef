import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { k8sBin, startTestControlPlane, stopControlPlaneDir, writeKubeconformSchemas, type TestControlPlane } from '../support/kube';
import { repoPath } from '../support/repo';

// Real parts: etcd, kube-apiserver, kube-controller-manager and kubectl built from the Go module proxy
// (scripts/k8s/tools.mjs), TLS and token auth on loopback, kubeconform with schemas generated from this
// API server. There is no scheduler and no kubelet, so Pods stay Pending.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function request(cp: TestControlPlane, urlPath: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(`${cp.server}${urlPath}`, { ca: readFileSync(cp.caFile), headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Processes whose command line names the control plane's directory (its components and nothing else). */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      if (cmdline.includes(dir) && state !== 'Z') found.push(`${pid} ${cmdline.slice(0, 120)}`);
    } catch {
      // exited while listing
    }
  }
  return found;
}

async function json<T>(cp: TestControlPlane, args: string[]): Promise<T> {
  const r = await cp.kubectl([...args, '-o', 'json']);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Item {
  metadata: { name: string; ownerReferences?: { kind: string; name: string }[] };
  status?: { phase?: string };
}

const deployment = (name: string, extraContainerField: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'example.invalid/app:1', resources: { requests: { cpu: 1, memory: '64Mi' } }, ...extraContainerField }] },
    },
  },
});

describe('throw-away control plane (real etcd, kube-apiserver, kube-controller-manager)', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane();
  });
  after(async () => {
    await cp?.close();
  });

  it('serves /version as v1.35.4 to the admin token, so the version ldflags took effect', async () => {
    const r = await request(cp, '/version', cp.adminToken);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { gitVersion: string }).gitVersion, 'v1.35.4');
    const client = await cp.kubectl(['version', '-o', 'json']);
    assert.equal(client.code, 0, client.stderr);
    const versions = JSON.parse(client.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.equal(versions.clientVersion.gitVersion, 'v1.35.4');
    assert.equal(versions.serverVersion.gitVersion, 'v1.35.4');
  });

  it('rejects requests without a valid token', async () => {
    const anonymous = await request(cp, '/api/v1/namespaces');
    assert.ok([401, 403].includes(anonymous.status), `anonymous: ${anonymous.status}`);
    const wrong = await request(cp, '/api/v1/namespaces', 'not-a-token');
    assert.equal(wrong.status, 401);
    const admin = await request(cp, '/api/v1/namespaces', cp.adminToken);
    assert.equal(admin.status, 200);
  });

  it('enforces RBAC on a ServiceAccount token: a Role with only `get pods` allows that and forbids Secrets', async () => {
    const ns = 'rbac-check';
    const saConfig = await cp.serviceAccountKubeconfig(ns, 'reader');
    const token = /token: "([^"]+)"/.exec(readFileSync(saConfig, 'utf8'))?.[1];
    assert.ok(token, 'the ServiceAccount kubeconfig carries a token');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns }, spec: { containers: [{ name: 'c', image: 'example.invalid/x:1' }] } };
    const created = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(created.code, 0, created.stderr);

    assert.equal((await request(cp, `/api/v1/namespaces/${ns}/pods/p`, token)).status, 403, 'no access before the RoleBinding');
    const rbac = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-getter', namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'reader-gets-pods', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-getter' },
          subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
        },
      ],
    };
    const bound = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(rbac) });
    assert.equal(bound.code, 0, bound.stderr);

    const got = await eventually('the RoleBinding to take effect', async () => {
      const r = await request(cp, `/api/v1/namespaces/${ns}/pods/p`, token);
      return r.status === 200 ? r : undefined;
    }, 10_000);
    assert.equal((JSON.parse(got.body) as Item).metadata.name, 'p');
    assert.equal((await request(cp, `/api/v1/namespaces/${ns}/secrets`, token)).status, 403);
    assert.equal((await request(cp, `/api/v1/namespaces/${ns}/pods`, token)).status, 403, 'list is not get');
    const viaKubectl = await cp.kubectl(['get', 'secrets', '-n', ns], { kubeconfig: saConfig });
    assert.notEqual(viaKubectl.code, 0);
    assert.match(viaKubectl.stderr, /forbidden/i);
  });

  it('runs a Deployment through kube-controller-manager (ReplicaSet, Pending Pods) and garbage-collects it on delete', async () => {
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment('web')) });
    assert.equal(applied.code, 0, applied.stderr);
    const rs = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const list = await json<{ items: Item[] }>(cp, ['get', 'replicasets', '-n', 'default', '-l', 'app=web']);
      return list.items.find((i) => i.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'));
    });
    const pods = await eventually('two Pods owned by the ReplicaSet', async () => {
      const list = await json<{ items: Item[] }>(cp, ['get', 'pods', '-n', 'default', '-l', 'app=web']);
      const owned = list.items.filter((i) => i.metadata.ownerReferences?.some((o) => o.kind === 'ReplicaSet' && o.name === rs.metadata.name));
      return owned.length === 2 ? owned : undefined;
    });
    assert.deepEqual(pods.map((p) => p.status?.phase), ['Pending', 'Pending'], 'no scheduler: the Pods stay Pending');

    const deleted = await cp.kubectl(['delete', 'deployment', 'web', '-n', 'default', '--wait=false']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually('the garbage collector to remove the ReplicaSet and its Pods', async () => {
      const rsLeft = await json<{ items: Item[] }>(cp, ['get', 'replicasets', '-n', 'default', '-l', 'app=web']);
      const podsLeft = await json<{ items: Item[] }>(cp, ['get', 'pods', '-n', 'default', '-l', 'app=web']);
      return rsLeft.items.length === 0 && podsLeft.items.length === 0 ? true : undefined;
    });
  });

  it('validates manifests with kubeconform -strict against schemas generated from this API server, CRDs included', async () => {
    const bin = await k8sBin();
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.infergraph.dev' },
      spec: {
        group: 'example.infergraph.dev',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', enum: ['red', 'blue'] } } } },
              },
            },
          },
        ],
      },
    };
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    assert.equal(applied.code, 0, applied.stderr);
    const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.example.infergraph.dev']);
    assert.equal(established.code, 0, established.stderr);

    const outDir = path.join(cp.dir, 'schemas');
    // The CRD reaches /openapi/v2 shortly after it is established.
    const location = await eventually('the Widget schema in /openapi/v2', async () => {
      const tpl = await writeKubeconformSchemas(cp, outDir);
      return readdirSync(path.join(outDir, 'standalone-strict')).includes('widget-example-v1.json') ? tpl : undefined;
    }, 20_000);

    const validate = (doc: Record<string, unknown>): { code: number; out: string } => {
      const file = path.join(cp.dir, `manifest-${Date.now()}.json`);
      writeFileSync(file, JSON.stringify(doc));
      const r = spawnSync(bin.kubeconform, ['-strict', '-summary', '-output', 'text', '-schema-location', location, file], { encoding: 'utf8' });
      return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
    };
    const good = validate(deployment('ok'));
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /Valid: 1/);

    const unknownField = validate(deployment('typo', { imagePullPolicyy: 'Always' }));
    assert.notEqual(unknownField.code, 0, 'an unknown field fails -strict');
    assert.match(unknownField.out, /imagePullPolicyy/);
    const wrongType = validate({ ...deployment('bad'), spec: { ...(deployment('bad')['spec'] as object), replicas: 'two' } });
    assert.notEqual(wrongType.code, 0, 'a string replica count fails');

    const widget = (spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'example.infergraph.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec });
    const goodWidget = validate(widget({ size: 3, color: 'red' }));
    assert.equal(goodWidget.code, 0, goodWidget.out);
    const extraWidget = validate(widget({ size: 3, shape: 'round' }));
    assert.notEqual(extraWidget.code, 0, 'an unknown field of the custom resource fails -strict');
    assert.match(extraWidget.out, /shape/);
    const badWidget = validate(widget({ size: 0, color: 'green' }));
    assert.notEqual(badWidget.code, 0, 'the CRD minimum and enum are enforced');
  });
});

describe('control plane lifecycle', () => {
  it('stop() leaves no process of its directory behind', async () => {
    const cp = await startTestControlPlane();
    const dir = cp.dir;
    try {
      assert.ok(processesOf(dir).length >= 3, `running: ${processesOf(dir).join('; ')}`);
    } finally {
      await cp.stop();
    }
    assert.deepEqual(processesOf(dir), []);
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills the components when the process that started them dies without stop()', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-k8s-orphan-'));
    const bin = await k8sBin();
    const script = [
      `import(${JSON.stringify(pathToFileURL(repoPath('scripts', 'k8s', 'control-plane.mjs')).href)})`,
      `.then((m) => m.startControlPlane({ dir: ${JSON.stringify(dir)}, controllerManager: false, bin: ${JSON.stringify(bin)} }))`,
      `.then(() => { console.log('ready'); setInterval(() => {}, 1000); })`,
      `.catch((e) => { console.error(e.message); process.exit(1); });`,
    ].join('');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await eventually('the child to start a control plane', () => (out.includes('ready') ? true : child.exitCode !== null ? assert.fail(out) : undefined), 120_000);
      assert.ok(processesOf(dir).some((p) => p.includes('kube-apiserver')), 'the API server runs');
      child.kill('SIGKILL');
      await eventually('the watchdog to stop the orphans', () => (processesOf(dir).length === 0 ? true : undefined), 15_000);
    } finally {
      child.kill('SIGKILL');
      await stopControlPlaneDir(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
