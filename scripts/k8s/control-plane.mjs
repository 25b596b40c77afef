// A throw-away Kubernetes control plane on loopback for tests: etcd, kube-apiserver and
// kube-controller-manager built by tools.mjs, all state and logs in one directory.
//   node scripts/k8s/control-plane.mjs start --dir D   → prints {server, kubeconfig, caFile} as JSON; keeps running
//   node scripts/k8s/control-plane.mjs stop --dir D    → stops whatever `start` left running in D
// There is no scheduler and no kubelet: Pods stay Pending.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../lib/free-port.mjs';
import { ensureK8sTools } from './tools.mjs';

const SERVICE_CIDR = '10.0.0.0/24';
const ISSUER = 'https://kubernetes.default.svc';
const PIDS_FILE = 'pids.json';
const CONTROLLERS = ['garbagecollector', 'deployment', 'replicaset', 'serviceaccount-token', 'serviceaccount', 'namespace', 'root-ca-cert-publisher'];

// Waits for the parent pid ($1) to die, then stops the groups in ./pgids as stop() would: etcd (the
// first line) after the others, SIGTERM and SIGKILL after 5 s.
const WATCHDOG = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
set -- $(cat pgids); etcd=$1; shift
stop() {
  for g; do kill -TERM "-$g" 2>/dev/null; done
  n=0
  while [ $n -lt 50 ]; do
    alive=; for g; do kill -0 "-$g" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return
    sleep 0.1; n=$((n + 1))
  done
  for g; do kill -KILL "-$g" 2>/dev/null; done
}
stop "$@"; stop "$etcd"
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function logTail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function openssl(dir, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    child.on('error', (err) => reject(new Error(`control plane: openssl is needed to make the certificates (${err.message})`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`control plane: openssl ${args.join(' ')} failed:\n${stderr}`))));
  });
}

/**
 * A CA and leaf certificates signed by it (one `openssl req -x509 -CA` each, in parallel), plus the
 * service-account key pair. EC P-256 keys because they are quick to make.
 */
async function makePki(pki) {
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  // A config of our own, so the system one adds no extensions (its v3_ca would make every leaf a CA).
  writeFileSync(path.join(pki, 'openssl.cnf'), '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n');
  const cert = (name, subject, extensions, signer = ['-CA', 'ca.crt', '-CAkey', 'ca.key']) =>
    openssl(pki, ['req', '-config', 'openssl.cnf', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '7', '-subj', subject, ...signer, ...extensions.flatMap((e) => ['-addext', e])]);
  await cert('ca', '/CN=infergraph-test-ca', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'], []);
  const leaf = (usage) => ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${usage}`];
  await Promise.all([
    cert('apiserver', '/CN=kube-apiserver', [...leaf('serverAuth'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1']),
    cert('etcd', '/CN=etcd', [...leaf('serverAuth,clientAuth'), 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
    cert('apiserver-etcd-client', '/CN=kube-apiserver-etcd-client', leaf('clientAuth')),
    // The built-in ClusterRoleBinding system:kube-controller-manager matches this user name.
    cert('controller-manager', '/CN=system:kube-controller-manager', leaf('clientAuth')),
  ]);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(path.join(pki, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(path.join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

const q = (s) => JSON.stringify(s);

function kubeconfigText({ server, caFile, user, token, certFile, keyFile }) {
  const auth = token !== undefined
    ? `    token: ${q(token)}`
    : `    client-certificate: ${q(certFile)}\n    client-key: ${q(keyFile)}`;
  return [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: infergraph-test', '  cluster:', `    server: ${q(server)}`, `    certificate-authority: ${q(caFile)}`,
    'users:', `- name: ${q(user)}`, '  user:', auth,
    'contexts:', '- name: infergraph-test', '  context:', '    cluster: infergraph-test', `    user: ${q(user)}`,
    'current-context: infergraph-test', '',
  ].join('\n');
}

function httpsGet(url, { ca, token, timeoutMs = 2000 }) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function isGone(pid) {
  try {
    // A zombie has exited; only its parent has not reaped it yet.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

function readCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** True while pid is a process started for this directory (guards against a reused pid). */
function ownsPid(pid, dir) {
  return readCmdline(pid).includes(dir) && !isGone(pid);
}

/** SIGTERM to each process group, SIGKILL to what is left after graceMs. */
async function killGroups(pids, dir, graceMs = 5000) {
  const live = pids.filter((pid) => ownsPid(pid, dir));
  for (const pid of live) {
    try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  const deadline = Date.now() + graceMs;
  while (live.some((pid) => !isGone(pid)) && Date.now() < deadline) await sleep(50);
  for (const pid of live) {
    if (!isGone(pid)) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  while (live.some((pid) => !isGone(pid))) await sleep(20);
}

/** Stops the processes recorded in dir/pids.json (also those of a test process that died). */
export async function stopControlPlaneDir(dir) {
  dir = path.resolve(dir);
  const file = path.join(dir, PIDS_FILE);
  if (!existsSync(file)) return;
  const recorded = JSON.parse(readFileSync(file, 'utf8'));
  if (recorded.watchdog && readCmdline(recorded.watchdog).includes('pgids')) {
    try { process.kill(-recorded.watchdog, 'SIGKILL'); } catch { /* already gone */ }
  }
  // Clients first, etcd last: an API server whose etcd is gone spends its whole grace period retrying.
  const { etcd, ...clients } = recorded.components ?? {};
  await killGroups(Object.values(clients), dir);
  if (etcd) await killGroups([etcd], dir);
  rmSync(file, { force: true });
}

/**
 * Starts etcd, kube-apiserver and (optionally) kube-controller-manager on loopback in `dir`.
 * @param {{dir: string, controllerManager?: boolean, watchParent?: boolean, bin?: Record<string,string>}} options
 */
export async function startControlPlane({ dir, controllerManager = true, watchParent = true, bin } = {}) {
  if (!dir) throw new Error('startControlPlane: dir is required');
  dir = path.resolve(dir);
  mkdirSync(dir, { recursive: true });
  if (existsSync(path.join(dir, PIDS_FILE))) await stopControlPlaneDir(dir);
  bin = bin ?? (await ensureK8sTools()).bin;
  const started = Date.now();

  const pki = path.join(dir, 'pki');
  await makePki(pki);
  const p = (name) => path.join(pki, name);
  const caFile = p('ca.crt');
  const ca = readFileSync(caFile);
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(p('tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });

  const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = path.join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText({ server, caFile, user: 'admin', token: adminToken }), { mode: 0o600 });

  const children = {};
  let watchdog;
  const recordPids = () => {
    const pids = Object.fromEntries(Object.entries(children).map(([k, c]) => [k, c.pid]));
    writeFileSync(path.join(dir, PIDS_FILE), `${JSON.stringify({ components: pids, watchdog }, null, 2)}\n`);
    writeFileSync(path.join(dir, 'pgids'), `${Object.values(pids).join('\n')}\n`);
  };
  const launch = (name, file, args, { append = false } = {}) => {
    const logFile = path.join(dir, `${name}.log`);
    const fd = openSync(logFile, append ? 'a' : 'w');
    // detached: its own process group, so stop() reaches anything it starts.
    const child = spawn(file, args, { cwd: dir, detached: true, stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
    closeSync(fd);
    child.on('error', () => { /* reported through exitCode below */ });
    child.unref();
    children[name] = child;
    child.logFile = logFile;
    recordPids();
    return child;
  };
  const stop = async () => {
    await stopControlPlaneDir(dir);
    watchdog = undefined;
  };
  const failed = async (message) => {
    await stop();
    return new Error(message);
  };

  const etcdUrl = `https://127.0.0.1:${etcdClientPort}`;
  const apiServerArgs = () => [
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`, `--cert-dir=${pki}`,
    `--tls-cert-file=${p('apiserver.crt')}`, `--tls-private-key-file=${p('apiserver.key')}`,
    `--client-ca-file=${caFile}`, `--token-auth-file=${p('tokens.csv')}`, '--anonymous-auth=false',
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${ISSUER}`, `--api-audiences=${ISSUER}`,
    `--service-account-signing-key-file=${p('sa.key')}`, `--service-account-key-file=${p('sa.pub')}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--etcd-servers=${etcdUrl}`, `--etcd-cafile=${caFile}`, `--etcd-certfile=${p('apiserver-etcd-client.crt')}`, `--etcd-keyfile=${p('apiserver-etcd-client.key')}`,
    // 127.0.0.1 is not a valid Endpoints address for the `kubernetes` Service; there is no pod network anyway.
    '--endpoint-reconciler-type=none', '--enable-priority-and-fairness=false', '--profiling=false',
  ];
  /** Launches kube-apiserver on its port and waits for /readyz (also after killApiServer). */
  const startApiServer = async ({ append = false } = {}) => {
    launch('kube-apiserver', bin.kubeApiserver, apiServerArgs(), { append });
    const apiserver = children['kube-apiserver'];
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const [name, c] of Object.entries(children)) {
        if (c.exitCode !== null || c.signalCode !== null) {
          throw await failed(`control plane: ${name} exited (${c.exitCode ?? c.signalCode}) before the API server was ready; last lines of ${c.logFile}:\n${logTail(c.logFile)}`);
        }
      }
      const r = await httpsGet(`${server}/readyz`, { ca, token: adminToken }).catch((err) => ({ status: 0, body: err.message }));
      if (r.status === 200) break;
      const last = `${r.status} ${r.body}`;
      if (Date.now() > deadline) {
        throw await failed(`control plane: kube-apiserver was not ready within 120 s (last /readyz: ${last.slice(0, 500)}); last lines of ${apiserver.logFile}:\n${logTail(apiserver.logFile)}\netcd:\n${logTail(children.etcd.logFile, 10)}`);
      }
      await sleep(100);
    }
  };
  /** kill -9 of kube-apiserver (etcd and its data stay), as a crashed or upgraded API server; startApiServer brings it back. */
  const killApiServer = async () => {
    const pid = children['kube-apiserver']?.pid;
    if (pid === undefined) return;
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
    while (!isGone(pid)) await sleep(20);
  };

  if (watchParent) {
    // If the test process dies without stop(), this shell kills the recorded groups once it notices (within ~1 s).
    const w = spawn('sh', ['-c', WATCHDOG, 'watchdog', String(process.pid)],
      { cwd: dir, detached: true, stdio: 'ignore' });
    w.unref();
    watchdog = w.pid;
  }

  try {
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    launch('etcd', bin.etcd, [
      '--name=test', `--data-dir=${path.join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      // One member: the peer port is bound on loopback but never used by another member.
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=test=${peerUrl}`,
      `--cert-file=${p('etcd.crt')}`, `--key-file=${p('etcd.key')}`, '--client-cert-auth', `--trusted-ca-file=${caFile}`,
      // Throw-away data: skip fsync, which is what makes etcd slow on a busy disk.
      '--unsafe-no-fsync', '--log-level=warn',
    ]);
    await startApiServer();

    if (controllerManager) {
      const kcmKubeconfig = path.join(dir, 'controller-manager.kubeconfig');
      writeFileSync(kcmKubeconfig, kubeconfigText({ server, caFile, user: 'system:kube-controller-manager', certFile: p('controller-manager.crt'), keyFile: p('controller-manager.key') }), { mode: 0o600 });
      launch('kube-controller-manager', bin.kubeControllerManager, [
        `--kubeconfig=${kcmKubeconfig}`, `--controllers=${CONTROLLERS.join(',')}`, '--leader-elect=false',
        // No serving port: nothing scrapes it here, and it saves the delegated-auth set-up.
        '--secure-port=0', `--service-account-private-key-file=${p('sa.key')}`, `--root-ca-file=${caFile}`,
        '--use-service-account-credentials=true', `--cluster-name=infergraph-test`,
      ]);
      // Pods cannot be created before the serviceaccount controller made `default` in their namespace.
      const kcm = children['kube-controller-manager'];
      const saDeadline = Date.now() + 60_000;
      for (;;) {
        if (kcm.exitCode !== null || kcm.signalCode !== null) {
          throw await failed(`control plane: kube-controller-manager exited (${kcm.exitCode ?? kcm.signalCode}); last lines of ${kcm.logFile}:\n${logTail(kcm.logFile)}`);
        }
        const r = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { ca, token: adminToken }).catch(() => ({ status: 0 }));
        if (r.status === 200) break;
        if (Date.now() > saDeadline) {
          throw await failed(`control plane: kube-controller-manager did not create the default ServiceAccount within 60 s; last lines of ${kcm.logFile}:\n${logTail(kcm.logFile)}`);
        }
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const kubectl = (args, { input, kubeconfig: config = kubeconfig } = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(bin.kubectl, [`--kubeconfig=${config}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: config } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on('error', () => { /* kubectl may exit before reading all input */ });
      child.stdin.end(input ?? '');
    });

  const serviceAccountKubeconfig = async (namespace, serviceAccount) => {
    const manifest = {
      apiVersion: 'v1', kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
      ],
    };
    const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    if (applied.code !== 0) throw new Error(`serviceAccountKubeconfig: could not create ServiceAccount ${namespace}/${serviceAccount}: ${applied.stderr.trim()}`);
    const token = await kubectl(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h']);
    if (token.code !== 0) throw new Error(`serviceAccountKubeconfig: TokenRequest for ${namespace}/${serviceAccount} failed: ${token.stderr.trim()}`);
    const file = path.join(dir, `sa-${namespace}-${serviceAccount}.kubeconfig`);
    writeFileSync(file, kubeconfigText({ server, caFile, user: `system:serviceaccount:${namespace}:${serviceAccount}`, token: token.stdout.trim() }), { mode: 0o600 });
    return file;
  };

  return {
    server, kubeconfig, caFile, adminToken, dir, bin,
    startupMs: Date.now() - started,
    pids: Object.fromEntries(Object.entries(children).map(([k, c]) => [k, c.pid])),
    kubectl, serviceAccountKubeconfig, stop,
    killApiServer,
    startApiServer: () => startApiServer({ append: true }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, flag, value] = process.argv.slice(2);
  if (!['start', 'stop'].includes(cmd) || flag !== '--dir' || !value) {
    console.error('usage: node scripts/k8s/control-plane.mjs start|stop --dir DIR');
    process.exit(2);
  }
  const main = cmd === 'start'
    ? startControlPlane({ dir: value, watchParent: false }).then((cp) => {
      console.log(JSON.stringify({ server: cp.server, kubeconfig: cp.kubeconfig, caFile: cp.caFile, dir: cp.dir, startupMs: cp.startupMs }));
    })
    : stopControlPlaneDir(value);
  main.catch((err) => { console.error(err.message); process.exit(1); });
}
