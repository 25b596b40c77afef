import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type CoreV1Event,
  type V1Deployment,
  type V1Lease,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { API_VERSION } from '@infergraph/spec';
import { KubeApiError } from './kube-api.error';
import type { KubeObject, LeaseRecord, WatchedResource } from './kube.types';

/** Where a service account's namespace is mounted in a pod. */
const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const [GROUP, VERSION] = API_VERSION.split('/') as [string, string];

/** The object an Event is about. */
export interface EventSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string | undefined;
}

/** A list answer: the objects and the resourceVersion to watch from. */
export interface ObjectList {
  readonly items: readonly KubeObject[];
  readonly resourceVersion: string;
}

/** One event of a watch stream, as the API server sent it. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: KubeObject & { readonly code?: number; readonly message?: string };
}

/** An open watch: `stop()` aborts it (its `done` is not called for a stop). */
export interface OpenWatch {
  stop(): void;
}

/**
 * The one place that talks to the Kubernetes API (through @kubernetes/client-node): lists and watches of
 * the resources the operator follows, status writes of its custom resources, the pool Deployments it owns,
 * and the leader Lease. Objects go in and out as plain JSON; every failure is a `KubeApiError` with the
 * HTTP status, so callers never see the client library's types.
 */
export class KubeClient {
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly watcher: Watch;

  private constructor(private readonly config: KubeConfig) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.apps = config.makeApiClient(AppsV1Api);
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
    this.watcher = new Watch(config);
  }

  /** From a kubeconfig file (KUBECONFIG), else the pod's service account (in-cluster). */
  static connect(kubeconfigFile: string | undefined): KubeClient {
    const config = new KubeConfig();
    if (kubeconfigFile !== undefined && kubeconfigFile !== '') config.loadFromFile(kubeconfigFile);
    else config.loadFromCluster();
    if (config.getCurrentCluster() === null) throw new Error(`KUBECONFIG=${JSON.stringify(kubeconfigFile ?? '')}: no current cluster to connect to`);
    return new KubeClient(config);
  }

  /** The namespace of the pod's service account, or undefined outside a cluster. */
  static podNamespace(): string | undefined {
    try {
      const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim();
      return ns === '' ? undefined : ns;
    } catch {
      return undefined;
    }
  }

  /** The API server's URL, for logs. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  async list(resource: WatchedResource, namespace: string, labelSelector?: string): Promise<ObjectList> {
    const answer = await call(`list ${resource} in ${namespace}`, async () => {
      switch (resource) {
        case 'inferencegraphs':
        case 'workerpools':
          return (await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: resource, labelSelector })) as unknown;
        case 'deployments':
          return await this.apps.listNamespacedDeployment({ namespace, labelSelector });
        case 'pods':
          return await this.core.listNamespacedPod({ namespace, labelSelector });
      }
    });
    return asList(answer);
  }

  /**
   * Watches from `resourceVersion`; `done` is called once when the stream ends or fails (an error with
   * status 410 means the version is too old: list again).
   */
  async watch(
    resource: WatchedResource,
    namespace: string,
    options: { resourceVersion: string; labelSelector?: string; timeoutSeconds: number },
    onEvent: (event: WatchEvent) => void,
    done: (err: KubeApiError | undefined) => void,
  ): Promise<OpenWatch> {
    let stopped = false;
    const controller = await this.watcher.watch(
      `${pathOf(resource)}/namespaces/${encodeURIComponent(namespace)}/${resource}`,
      { resourceVersion: options.resourceVersion, allowWatchBookmarks: true, labelSelector: options.labelSelector, timeoutSeconds: options.timeoutSeconds },
      (type: string, object: unknown) => onEvent({ type: type as WatchEvent['type'], object: object as WatchEvent['object'] }),
      (err: unknown) => {
        if (stopped) return;
        done(err === null || err === undefined ? undefined : toKubeError(`watch ${resource}`, err));
      },
    );
    return {
      stop: () => {
        stopped = true;
        controller.abort();
      },
    };
  }

  /** Merge-patches the status subresource of one of our custom resources. */
  async patchStatus(resource: 'inferencegraphs' | 'workerpools', namespace: string, name: string, status: unknown): Promise<void> {
    await call(`patch the status of ${resource}/${name}`, () =>
      this.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: resource, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  async createDeployment(namespace: string, deployment: KubeObject): Promise<KubeObject> {
    const created = await call(`create deployment ${deployment.metadata.name}`, () => this.apps.createNamespacedDeployment({ namespace, body: deployment as V1Deployment }));
    return plain(created);
  }

  /** Replaces a Deployment; `deployment.metadata.resourceVersion` makes it fail with 409 on a concurrent change. */
  async replaceDeployment(namespace: string, deployment: KubeObject): Promise<KubeObject> {
    const name = deployment.metadata.name;
    const replaced = await call(`replace deployment ${name}`, () => this.apps.replaceNamespacedDeployment({ namespace, name, body: deployment as V1Deployment }));
    return plain(replaced);
  }

  async deleteDeployment(namespace: string, name: string): Promise<void> {
    await call(`delete deployment ${name}`, () => this.apps.deleteNamespacedDeployment({ namespace, name }));
  }

  /**
   * Records a core/v1 Event about one of our objects (what `kubectl describe` shows): `Normal` for progress,
   * `Warning` for what a person should look at.
   */
  async recordEvent(namespace: string, about: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): Promise<void> {
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${about.name}.`, namespace },
      involvedObject: { apiVersion: about.apiVersion, kind: about.kind, name: about.name, namespace, uid: about.uid },
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message,
      source: { component },
      reportingComponent: component,
      reportingInstance: component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await call(`record event ${reason} on ${about.kind} ${about.name}`, () => this.core.createNamespacedEvent({ namespace, body }));
  }

  /** The Lease, or undefined when there is none. */
  async readLease(namespace: string, name: string): Promise<LeaseRecord | undefined> {
    try {
      return leaseRecordOf(await call(`read lease ${name}`, () => this.coordination.readNamespacedLease({ namespace, name })));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Creates the Lease (409 when another candidate was first). */
  async createLease(namespace: string, name: string, record: Omit<LeaseRecord, 'resourceVersion'>): Promise<LeaseRecord> {
    const body = leaseBody(name, record, undefined);
    return leaseRecordOf(await call(`create lease ${name}`, () => this.coordination.createNamespacedLease({ namespace, body })));
  }

  /** Replaces the Lease at `resourceVersion` (409 when it changed since it was read). */
  async replaceLease(namespace: string, name: string, record: Omit<LeaseRecord, 'resourceVersion'>, resourceVersion: string): Promise<LeaseRecord> {
    const body = leaseBody(name, record, resourceVersion);
    return leaseRecordOf(await call(`update lease ${name}`, () => this.coordination.replaceNamespacedLease({ namespace, name, body })));
  }
}

function pathOf(resource: WatchedResource): string {
  switch (resource) {
    case 'inferencegraphs':
    case 'workerpools':
      return `/apis/${GROUP}/${VERSION}`;
    case 'deployments':
      return '/apis/apps/v1';
    case 'pods':
      return '/api/v1';
  }
}

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toKubeError(what, err);
  }
}

function toKubeError(what: string, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : String(body);
    return new KubeApiError(err.code, `${what}: ${err.code} ${message}`, { cause: err });
  }
  const status = typeof err === 'object' && err !== null ? ((err as { statusCode?: unknown; code?: unknown }).statusCode ?? (err as { code?: unknown }).code) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new KubeApiError(typeof status === 'number' ? status : 0, `${what}: ${message}`, { cause: err });
}

/** Typed answers come back as model classes (dates as Date); the operator works on their JSON. */
function plain(value: unknown): KubeObject {
  return JSON.parse(JSON.stringify(value)) as KubeObject;
}

function asList(answer: unknown): ObjectList {
  const list = JSON.parse(JSON.stringify(answer)) as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
  return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
}

function leaseRecordOf(lease: V1Lease): LeaseRecord {
  const time = (t: unknown): number | undefined => {
    if (t instanceof Date) return t.getTime();
    if (typeof t === 'string' && t !== '') return Date.parse(t);
    return undefined;
  };
  return {
    holderIdentity: lease.spec?.holderIdentity,
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds,
    acquireTimeMs: time(lease.spec?.acquireTime),
    renewTimeMs: time(lease.spec?.renewTime),
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

/**
 * A Lease body. MicroTime fields must carry six fractional digits (the API server parses RFC 3339 with
 * microseconds) and the client library would write a Date with three, so they go in as strings.
 */
function leaseBody(name: string, record: Omit<LeaseRecord, 'resourceVersion'>, resourceVersion: string | undefined): V1Lease {
  const micro = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : (new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date));
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: resourceVersion === undefined ? { name } : { name, resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity ?? '',
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(record.acquireTimeMs),
      renewTime: micro(record.renewTimeMs),
      leaseTransitions: record.leaseTransitions,
    },
  };
}
