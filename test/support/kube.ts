import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoPath } from './repo';

/** Absolute paths of the tools built by scripts/k8s/tools.mjs. */
export interface K8sBin {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
  readonly helm: string;
  readonly kubeconform: string;
}

export interface K8sTools {
  readonly dir: string;
  readonly bin: K8sBin;
  readonly versions: { readonly kubernetes: string; readonly etcd: string; readonly helm: string; readonly kubeconform: string };
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A throw-away etcd + kube-apiserver (+ kube-controller-manager) on loopback; see scripts/k8s/control-plane.mjs. */
export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin kubeconfig (static token in group system:masters). */
  readonly kubeconfig: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly dir: string;
  readonly bin: K8sBin;
  readonly startupMs: number;
  /** Process ids of the components (each leads its own process group). */
  readonly pids: Readonly<Record<string, number>>;
  kubectl(args: readonly string[], options?: { input?: string; kubeconfig?: string }): Promise<KubectlResult>;
  /** Creates the namespace and ServiceAccount if missing; a kubeconfig with a TokenRequest token for it. */
  serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
  /** kill -9 of kube-apiserver; etcd and its data stay. */
  killApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

interface ToolsModule {
  ensureK8sTools(options?: { log?: (line: string) => void }): Promise<K8sTools>;
}
interface ControlPlaneModule {
  startControlPlane(options: { dir: string; controllerManager?: boolean; watchParent?: boolean; bin?: K8sBin }): Promise<ControlPlane>;
  stopControlPlaneDir(dir: string): Promise<void>;
}
interface SchemasModule {
  writeKubeconformSchemas(controlPlane: Pick<ControlPlane, 'server' | 'caFile' | 'adminToken'>, outDir: string): Promise<string>;
}

// The scripts are ES modules outside the TypeScript build; load them from the repository at run time.
const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(repoPath('scripts', 'k8s', file)).href)) as T;

export async function ensureK8sTools(): Promise<K8sTools> {
  return (await load<ToolsModule>('tools.mjs')).ensureK8sTools();
}

/**
 * The tool paths: from INFERGRAPH_K8S_BIN (set by scripts/run-tests.mjs when the tools are built), else built or
 * reused now (`npm run test:k8s` run by hand); a build already under way elsewhere is waited for through the build lock.
 */
export async function k8sBin(): Promise<K8sBin> {
  const dir = process.env['INFERGRAPH_K8S_BIN'];
  if (!dir) return (await ensureK8sTools()).bin;
  const at = (name: string): string => path.join(dir, name);
  return {
    etcd: at('etcd'),
    kubeApiserver: at('kube-apiserver'),
    kubeControllerManager: at('kube-controller-manager'),
    kubectl: at('kubectl'),
    helm: at('helm'),
    kubeconform: at('kubeconform'),
  };
}

export async function startControlPlane(options: { dir: string; controllerManager?: boolean; bin?: K8sBin }): Promise<ControlPlane> {
  return (await load<ControlPlaneModule>('control-plane.mjs')).startControlPlane({ ...options, bin: options.bin ?? (await k8sBin()) });
}

export async function stopControlPlaneDir(dir: string): Promise<void> {
  return (await load<ControlPlaneModule>('control-plane.mjs')).stopControlPlaneDir(dir);
}

/** Writes kubeconform schemas from the API server's /openapi/v2 (CRDs included); returns the -schema-location template. */
export async function writeKubeconformSchemas(controlPlane: Pick<ControlPlane, 'server' | 'caFile' | 'adminToken'>, outDir: string): Promise<string> {
  return (await load<SchemasModule>('kubeconform-schemas.mjs')).writeKubeconformSchemas(controlPlane, outDir);
}

export interface TestControlPlane extends ControlPlane {
  /** stop() and remove the temporary directory (unless INFERGRAPH_KEEP_K8S_DIR is set, for reading the logs). */
  close(): Promise<void>;
}

/** A control plane in a fresh temporary directory. */
export async function startTestControlPlane(options: { controllerManager?: boolean } = {}): Promise<TestControlPlane> {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-k8s-'));
  // On a failed start the directory stays: the error points at the component logs in it.
  const cp = await startControlPlane({ dir, ...options });
  return {
    ...cp,
    close: async () => {
      await cp.stop();
      if (!process.env['INFERGRAPH_KEEP_K8S_DIR']) rmSync(dir, { recursive: true, force: true });
    },
  };
}
