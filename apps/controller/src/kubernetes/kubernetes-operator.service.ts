import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KubeClient, LeaseElector, ResourceWatcher, type KubeObject, type ResourceChange } from '@infergraph/kube';
import { parseBytes, parseCpu, type ReplicaDemand } from '@infergraph/placement';
import { API_VERSION, NodeKey, WORKER_POOL_KIND, workerPoolSpecSchema, type InferenceGraphStatus, type WorkerPoolStatus } from '@infergraph/spec';
import { ClusterService } from '../cluster.service';
import { CONTROLLER_CONFIG, type ControllerConfig, type KubernetesSettings } from '../controller.config';
import { GraphCatalogueService } from '../graph-catalogue.service';
import { graphStatusOf } from './graph-status';
import { graphNameOf, graphSourceOf } from './inference-graph.source';
import { decidePoolReplicas, fitsFreshWorker, workerPoolStatusOf } from './pool-scaling';
import { MANAGED_BY, MANAGED_SELECTOR, POOL_LABEL, deploymentNameOf, poolDeployment, poolNameOf, type PoolDeploymentSettings, type WorkerPoolObject } from './worker-pool.deployment';

/** How often the leader compares what it wants with what the API server has (status, Deployments). */
const RECONCILE_MS = 200;
/** The annotation holding a hash of the Deployment spec the operator wrote (replicas aside). */
const SPEC_HASH = 'infergraph.dev/spec-hash';

interface GraphRecord {
  /** The generation last applied to the catalogue. */
  generation: number | undefined;
  invalid: string | undefined;
}

interface PoolRecord {
  pendingSinceMs: number | undefined;
  surplusSinceMs: number | undefined;
}

/**
 * CONTROLLER_MODE=kubernetes: the controller as an operator. Every replica campaigns for the leader Lease
 * and keeps a warm cache of InferenceGraphs, WorkerPools and the pool Deployments; only the leader applies
 * graphs to the catalogue, opens the control plane (workers join, gateways watch), writes status and owns
 * the Deployments. A leader that loses the Lease exits at once, so it never acts beside a new leader; the
 * pod restarts as a standby.
 */
@Injectable()
export class KubernetesOperatorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('operator');
  private client: KubeClient | undefined;
  private graphs: ResourceWatcher | undefined;
  private pools: ResourceWatcher | undefined;
  private deployments: ResourceWatcher | undefined;
  private pods: ResourceWatcher | undefined;
  private elector: LeaseElector | undefined;
  private leading = false;
  private shuttingDown = false;
  /** Every watch cache has had its first list: this replica could lead at once. */
  private cachesSynced = false;
  private timer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private readonly graphRecords = new Map<string, GraphRecord>();
  private readonly poolRecords = new Map<string, PoolRecord>();
  /**
   * The status JSON last written per object (`kind/uid`: a re-created object is another one): a write is
   * skipped while it would not change it.
   */
  private readonly written = new Map<string, string>();
  /** Per Deployment, the resourceVersion it had when we last wrote it: a cache still showing it is stale. */
  private readonly staleVersions = new Map<string, string>();
  /** Per WorkerPool, why its Deployment could not be written (reported as DeploymentFailed). */
  private readonly problems = new Map<string, string>();
  /** The reason of the last Event recorded per object, so a status rewrite does not repeat it. */
  private readonly lastEvent = new Map<string, string>();

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly cluster: ClusterService,
    private readonly catalogue: GraphCatalogueService,
  ) {}

  private get kube(): KubernetesSettings {
    return this.config.kubernetes as KubernetesSettings;
  }

  onApplicationBootstrap(): void {
    if (this.config.kubernetes === undefined) return;
    const kube = this.kube;
    const client = KubeClient.connect(kube.kubeconfig);
    this.client = client;
    const onError = (message: string): void => this.logger.warn(message);
    this.graphs = new ResourceWatcher(client, 'inferencegraphs', kube.namespace, { onError });
    this.pools = new ResourceWatcher(client, 'workerpools', kube.namespace, { onError });
    this.deployments = new ResourceWatcher(client, 'deployments', kube.namespace, { labelSelector: MANAGED_SELECTOR, onError });
    this.pods = new ResourceWatcher(client, 'pods', kube.namespace, { labelSelector: MANAGED_SELECTOR, onError });
    this.graphs.onChange((change) => this.onGraphChange(change));
    // A create or delete we made is settled once the watch shows it (or someone else undid it).
    this.deployments.onChange((change) => {
      const marker = this.staleVersions.get(change.object.metadata.name);
      if ((change.type === 'upsert' && marker === 'created') || (change.type === 'delete' && marker !== undefined)) this.staleVersions.delete(change.object.metadata.name);
    });
    // Standbys keep their caches warm too: a takeover starts from what they already know.
    for (const w of [this.graphs, this.pools, this.deployments, this.pods]) w.start();
    void Promise.all([this.graphs, this.pools, this.deployments, this.pods].map((w) => w.synced())).then(() => {
      this.cachesSynced = true;
    });
    this.elector = new LeaseElector(client, {
      namespace: kube.namespace,
      name: kube.leaseName,
      identity: kube.identity,
      leaseDurationMs: kube.leaseDurationMs,
      renewIntervalMs: kube.leaseRenewMs,
      retryIntervalMs: kube.leaseRenewMs,
      renewDeadlineMs: Math.max(kube.leaseRenewMs, kube.leaseDurationMs - 2 * kube.leaseRenewMs),
      onStartedLeading: () => void this.lead(),
      onStoppedLeading: (reason) => this.stepDown(reason),
      log: (message) => this.logger.log(message),
    });
    this.logger.log(`operator for namespace ${kube.namespace} on ${client.server}: campaigning for lease ${kube.leaseName} as ${kube.identity}`);
    this.elector.start();
  }

  /**
   * Readiness in Kubernetes mode (undefined in files mode): the leader once its control plane is open, and
   * a standby once its caches are warm, since it can take over then. Both being Ready lets a rolling update
   * proceed pod by pod; workers and gateways still reach only the leader, the one that listens on the
   * control port (docs/decisions.md).
   */
  readiness(): { ready: boolean; role: 'leader' | 'standby' } | undefined {
    if (this.config.kubernetes === undefined) return undefined;
    if (this.leading) return { ready: this.cluster.serving, role: 'leader' };
    return { ready: this.cachesSynced && !this.shuttingDown, role: 'standby' };
  }

  /**
   * SIGTERM: a leader closes its control plane first (its workers and gateways look for the next leader),
   * then releases the Lease so a standby takes it at once instead of after the lease duration.
   */
  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.timer);
    if (this.leading) this.cluster.stopServing();
    this.leading = false;
    for (const w of [this.graphs, this.pools, this.deployments, this.pods]) w?.stop();
    await this.elector?.stop();
  }

  /** Leadership: graphs into the catalogue first (gateways read it as soon as they connect), then the control plane. */
  private async lead(): Promise<void> {
    const graphs = this.graphs as ResourceWatcher;
    await Promise.all([graphs.synced(), this.pools?.synced(), this.deployments?.synced(), this.pods?.synced()]);
    if (!this.elector?.isLeader) return;
    this.leading = true;
    for (const object of graphs.list()) this.applyGraph(object);
    await this.cluster.startServing();
    this.logger.log(`leading: ${graphs.list().length} InferenceGraph(s) in ${this.kube.namespace}; control plane open`);
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_MS);
    this.timer.unref();
  }

  private stepDown(reason: string): void {
    if (this.shuttingDown || (!this.leading && this.timer === undefined)) return;
    // Another controller leads now (or may at any moment): act no more, and come back as a standby.
    this.logger.error(`lost leadership (${reason}); exiting so this pod restarts as a standby`);
    clearInterval(this.timer);
    this.leading = false;
    this.cluster.stopServing();
    process.exit(1);
  }

  private onGraphChange(change: ResourceChange): void {
    if (!this.leading) return;
    const name = change.object.metadata.name;
    if (change.type === 'delete') {
      this.graphRecords.delete(name);
      this.written.delete(`graph/${change.object.metadata.uid ?? name}`);
      this.catalogue.removeKubernetesGraph(name);
      // An object refused because the deleted one served its version may serve it now: refused ones try again.
      for (const object of (this.graphs as ResourceWatcher).list()) {
        const record = this.graphRecords.get(object.metadata.name);
        if (record?.invalid === undefined || object.metadata.name === name) continue;
        this.graphRecords.delete(object.metadata.name);
        this.applyGraph(object);
      }
      return;
    }
    this.applyGraph(change.object);
  }

  /** A new generation of an InferenceGraph goes to the catalogue (status writes change no generation). */
  private applyGraph(object: KubeObject): void {
    const name = object.metadata.name;
    const generation = object.metadata.generation;
    const record = this.graphRecords.get(name);
    if (record !== undefined && generation !== undefined && record.generation === generation) return;
    let error: string | undefined;
    try {
      error = this.catalogue.putKubernetesGraph(name, graphSourceOf(object), `InferenceGraph ${this.kube.namespace}/${name}`).error;
    } catch (err) {
      // Never thrown into the watch loop: the object is reported, the others keep flowing.
      error = `InferenceGraph ${this.kube.namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (error !== undefined) this.logger.warn(`InferenceGraph ${name} (generation ${generation ?? '?'}) is invalid:\n${error}`);
    this.graphRecords.set(name, { generation, invalid: error });
  }

  private async reconcile(): Promise<void> {
    if (!this.leading || this.reconciling || !this.cluster.isSynced) return;
    this.reconciling = true;
    try {
      await this.writeGraphStatuses();
      await this.reconcilePools();
    } catch (err) {
      this.logger.warn(`reconcile: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.reconciling = false;
    }
  }

  private async writeGraphStatuses(): Promise<void> {
    const cluster = this.cluster.clusterStatus();
    const now = new Date();
    for (const object of (this.graphs as ResourceWatcher).list()) {
      const name = object.metadata.name;
      const record = this.graphRecords.get(name);
      if (record === undefined) continue;
      const current = object.status as InferenceGraphStatus | undefined;
      // The version the object serves (a previous valid one while its latest generation is invalid).
      const id = this.catalogue.kubernetesGraphIdOf(name) ?? graphNameOf(object);
      const status = graphStatusOf({
        name: id,
        generation: record.generation,
        invalid: record.invalid,
        placed: cluster.graphs.find((g) => NodeKey.graphId(g.name, g.version) === id),
        pending: cluster.pending,
        endpoints: { rest: this.kube.gatewayRestUrl, grpc: this.kube.gatewayGrpcUrl },
        previous: current?.conditions,
        now,
      });
      await this.writeStatus('inferencegraphs', `graph/${object.metadata.uid ?? name}`, name, status, current);
      await this.recordReadyChange(object, current, status);
    }
  }

  /** An Event when a graph's Ready reason changes (AllReplicasReady, Unplaceable, InvalidSpec, ...). */
  private async recordReadyChange(object: KubeObject, before: InferenceGraphStatus | undefined, after: InferenceGraphStatus): Promise<void> {
    const was = before?.conditions?.find((c) => c.type === 'Ready');
    const now = after.conditions?.find((c) => c.type === 'Ready');
    if (now === undefined || (was?.reason === now.reason && was.status === now.status)) return;
    const key = `graph/${object.metadata.uid ?? object.metadata.name}`;
    if (this.lastEvent.get(key) === now.reason) return;
    this.lastEvent.set(key, now.reason);
    const warning = now.reason === 'Unplaceable' || now.reason === 'InvalidSpec' || now.reason === 'ReplicaFailed';
    await this.event(object, 'InferenceGraph', warning ? 'Warning' : 'Normal', now.reason, now.message);
  }

  private async event(object: KubeObject, kind: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    try {
      await (this.client as KubeClient).recordEvent(this.kube.namespace, { apiVersion: API_VERSION, kind, name: object.metadata.name, uid: object.metadata.uid }, type, reason, message, 'infergraph-controller');
    } catch (err) {
      this.logger.warn(`cannot record event ${reason} on ${kind} ${object.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async writeStatus(resource: 'inferencegraphs' | 'workerpools', key: string, name: string, status: InferenceGraphStatus | WorkerPoolStatus, current: unknown): Promise<void> {
    const json = JSON.stringify(status);
    if (json === this.written.get(key) || json === JSON.stringify(current)) return;
    try {
      await (this.client as KubeClient).patchStatus(resource, this.kube.namespace, name, status);
      this.written.set(key, json);
    } catch (err) {
      this.logger.warn(`cannot write the status of ${resource}/${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async reconcilePools(): Promise<void> {
    const pools = this.pools as ResourceWatcher;
    const deployments = this.deployments as ResourceWatcher;
    const cluster = this.cluster.clusterStatus();
    const demands = new Map<string, ReplicaDemand>(this.catalogue.list().flatMap((g) => g.demands.map((d) => [d.key, d] as const)));
    // Conditions carry wall-clock times; how long a pool has been short or idle is measured on the monotonic
    // clock, which a stepped wall clock does not move.
    const nowMs = Date.now();
    const monoMs = performance.now();
    const seen = new Set<string>();
    for (const object of pools.list()) {
      const name = object.metadata.name;
      seen.add(name);
      const parsed = workerPoolSpecSchema.safeParse(object.spec);
      const currentStatus = object.status as WorkerPoolStatus | undefined;
      if (!parsed.success) {
        const problem = { reason: 'InvalidSpec' as const, message: `WorkerPool ${name}: ${parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ')}` };
        const status = workerPoolStatusOf({ generation: object.metadata.generation, replicas: 0, joined: 0, pendingForCapacity: false, atMax: false, pods: this.podsOf(name), problem, previous: currentStatus?.conditions, now: new Date(nowMs) });
        await this.writeStatus('workerpools', `pool/${object.metadata.uid ?? name}`, name, status, currentStatus);
        continue;
      }
      const pool: WorkerPoolObject = { name, uid: object.metadata.uid ?? '', spec: parsed.data };
      const poolName = poolNameOf(pool);
      const size = { cpu: parseCpu(pool.spec.resources.cpu), memory: parseBytes(pool.spec.resources.memory), gpuMemory: pool.spec.resources.gpuMemory === undefined ? 0 : parseBytes(pool.spec.resources.gpuMemory) };
      const workers = cluster.workers.filter((w) => w.pool === poolName && !w.draining);
      const pendingForCapacity = cluster.pending.some((p) => {
        const d = demands.get(p.key);
        return d !== undefined && fitsFreshWorker(d, poolName, size);
      });
      const record = this.poolRecords.get(name) ?? { pendingSinceMs: undefined, surplusSinceMs: undefined };
      record.pendingSinceMs = pendingForCapacity ? (record.pendingSinceMs ?? monoMs) : undefined;
      const busy = workers.filter((w) => w.replicas > 0).length;
      record.surplusSinceMs = !pendingForCapacity && workers.length > busy ? (record.surplusSinceMs ?? monoMs) : undefined;
      this.poolRecords.set(name, record);
      const deployment = deployments.get(deploymentNameOf(name));
      const current = (deployment?.spec as { replicas?: number } | undefined)?.replicas;
      const decision = decidePoolReplicas({
        min: pool.spec.replicas.min,
        max: pool.spec.replicas.max,
        current,
        joined: workers.length,
        busy,
        pendingSinceMs: record.pendingSinceMs,
        surplusSinceMs: record.surplusSinceMs,
        nowMs: monoMs,
        upAfterMs: this.config.autoscale.upAfterMs,
        idleAfterMs: this.config.autoscale.idleAfterMs,
      });
      await this.applyDeployment(pool, deployment, decision.replicas, decision.reason);
      if (decision.replicas !== current) record.pendingSinceMs = undefined;
      const status = workerPoolStatusOf({
        generation: object.metadata.generation,
        replicas: decision.replicas,
        joined: workers.length,
        pendingForCapacity,
        atMax: decision.replicas >= pool.spec.replicas.max,
        pods: this.podsOf(name),
        problem: this.problems.has(name) ? { reason: 'DeploymentFailed', message: this.problems.get(name) ?? '' } : undefined,
        previous: currentStatus?.conditions,
        now: new Date(nowMs),
      });
      await this.writeStatus('workerpools', `pool/${object.metadata.uid ?? name}`, name, status, currentStatus);
    }
    for (const name of [...this.poolRecords.keys()]) if (!seen.has(name)) this.poolRecords.delete(name);
    await this.removeOrphans(seen);
  }

  /** The pool's Pods (not being deleted), and what the scheduler says about those it cannot place. */
  private podsOf(pool: string): { total: number; unschedulable: number; schedulerMessage: string | undefined } {
    const pods = (this.pods as ResourceWatcher).list().filter((p) => p.metadata.labels?.[POOL_LABEL] === pool && p.metadata.deletionTimestamp === undefined);
    const reasons = pods.flatMap((p) => {
      const conditions = (p.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? [];
      const scheduled = conditions.find((c) => c.type === 'PodScheduled');
      return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? [scheduled.message ?? ''] : [];
    });
    return { total: pods.length, unschedulable: reasons.length, schedulerMessage: reasons.find((r) => r !== '') };
  }

  /** Creates or updates the pool's Deployment when its spec or replica count differs from what it should be. */
  private async applyDeployment(pool: WorkerPoolObject, deployment: KubeObject | undefined, replicas: number, reason: string): Promise<void> {
    const client = this.client as KubeClient;
    const poolObject: KubeObject = { metadata: { name: pool.name, uid: pool.uid } };
    const name = deploymentNameOf(pool.name);
    let manifest: KubeObject;
    try {
      manifest = poolDeployment(pool, replicas, this.deploymentSettings());
    } catch (err) {
      this.problems.set(pool.name, err instanceof Error ? err.message : String(err));
      return;
    }
    const hash = createHash('sha256')
      .update(JSON.stringify({ ...(manifest.spec as object), replicas: undefined }))
      .digest('hex')
      .slice(0, 16);
    const wanted: KubeObject = { ...manifest, metadata: { ...manifest.metadata, annotations: { [SPEC_HASH]: hash } } };
    try {
      if (deployment === undefined) {
        if (this.staleVersions.get(name) === 'created') return;
        await client.createDeployment(this.kube.namespace, wanted);
        this.staleVersions.set(name, 'created');
        this.logger.log(`created Deployment ${name} with ${replicas} worker(s) for WorkerPool ${pool.name}`);
      } else {
        const version = deployment.metadata.resourceVersion ?? '';
        if (this.staleVersions.get(name) === version) return; // our last write has not come back through the watch yet
        const ownedByPool = deployment.metadata.ownerReferences?.some((o) => o.uid === pool.uid) === true;
        const currentReplicas = (deployment.spec as { replicas?: number }).replicas;
        if (ownedByPool && deployment.metadata.annotations?.[SPEC_HASH] === hash && currentReplicas === replicas) {
          this.staleVersions.delete(name);
          this.problems.delete(pool.name);
          return;
        }
        await client.replaceDeployment(this.kube.namespace, { ...wanted, metadata: { ...wanted.metadata, resourceVersion: version } });
        this.staleVersions.set(name, version);
        this.logger.log(`updated Deployment ${name}: ${replicas} worker(s)${currentReplicas !== replicas && reason !== '' ? ` (${reason})` : ''}`);
        if (currentReplicas !== undefined && currentReplicas !== replicas) {
          const scaled = `Deployment ${name} scaled from ${currentReplicas} to ${replicas} worker(s)${reason === '' ? '' : `: ${reason}`}`;
          await this.event(poolObject, WORKER_POOL_KIND, 'Normal', replicas > currentReplicas ? 'ScaledUp' : 'ScaledDown', scaled);
        }
      }
      this.problems.delete(pool.name);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.staleVersions.delete(name);
      // 409 on create: a Deployment of that name exists without our label; it is left alone.
      this.problems.set(pool.name, `Deployment ${name}: ${message}`);
      this.logger.warn(`WorkerPool ${pool.name}: ${message}`);
    }
  }

  /** Deletes Deployments we made for WorkerPools that are gone (the garbage collector does it too, if it runs). */
  private async removeOrphans(pools: ReadonlySet<string>): Promise<void> {
    for (const d of (this.deployments as ResourceWatcher).list()) {
      const pool = d.metadata.labels?.[POOL_LABEL];
      if (pool === undefined || pools.has(pool) || d.metadata.labels?.[MANAGED_BY.key] !== MANAGED_BY.value || d.metadata.deletionTimestamp !== undefined) continue;
      if (this.staleVersions.get(d.metadata.name) === 'deleted') continue;
      try {
        await (this.client as KubeClient).deleteDeployment(this.kube.namespace, d.metadata.name);
        this.staleVersions.set(d.metadata.name, 'deleted');
        this.logger.log(`deleted Deployment ${d.metadata.name}: its WorkerPool ${pool} is gone`);
      } catch (err) {
        this.logger.warn(`cannot delete Deployment ${d.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** The operator's Kubernetes settings carry every field a pool Deployment takes, under the same names. */
  private deploymentSettings(): PoolDeploymentSettings {
    return this.kube;
  }
}
