import type { KubeClient } from './kube.client';
import { KubeApiError } from './kube-api.error';
import { decideLease, leaseWrite, observeLease, type LeaseObservation } from './lease.decision';
import type { LeaseRecord } from './kube.types';

/** What the elector needs of the API: a KubeClient, or a fake in unit specs. */
export type LeaseStore = Pick<KubeClient, 'readLease' | 'createLease' | 'replaceLease'>;

/**
 * The two clocks an elector reads. The Lease's acquire and renew times are wall-clock times, as Kubernetes
 * defines them; every duration this process measures itself (how long a holder's record has stood unchanged,
 * how long since its own last renewal) is read on the monotonic clock, so a stepped wall clock (an NTP step,
 * a VM resumed) neither makes a live holder look expired nor makes a leader give up.
 */
export interface ElectorClock {
  wallMs(): number;
  monotonicMs(): number;
}

const SYSTEM_CLOCK: ElectorClock = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };

export interface LeaseElectorOptions {
  readonly namespace: string;
  readonly name: string;
  /** This candidate (the pod name): what the Lease's holderIdentity says while it leads. */
  readonly identity: string;
  /** A holder that has not renewed for this long has lost the lease; default 10 s. */
  readonly leaseDurationMs?: number;
  /** How often the leader renews; default 2 s. */
  readonly renewIntervalMs?: number;
  /** How often a standby looks at the lease; default 2 s. */
  readonly retryIntervalMs?: number;
  /**
   * A leader that could not renew for this long stops leading (before its lease can expire for others);
   * default 7 s.
   */
  readonly renewDeadlineMs?: number;
  readonly onStartedLeading: () => void;
  /** Called once, at once, when leadership ends (lost, not renewed in time, or released). */
  readonly onStoppedLeading: (reason: string) => void;
  readonly log?: (message: string) => void;
  /** Default: Date.now() and performance.now(). */
  readonly clock?: ElectorClock;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease (decisions in lease.decision.ts): the leader renews
 * every `renewIntervalMs`; a standby takes the lease once its holder has not renewed it for
 * `leaseDurationMs`. Writes use the Lease's resourceVersion, so of two candidates only one wins a takeover.
 */
export class LeaseElector {
  private leading = false;
  private lastRenewMs = 0;
  private observation: LeaseObservation | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();
  private readonly durationMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly deadlineMs: number;
  private readonly clock: ElectorClock;

  constructor(
    private readonly client: LeaseStore,
    private readonly options: LeaseElectorOptions,
  ) {
    this.durationMs = options.leaseDurationMs ?? 10_000;
    this.renewMs = options.renewIntervalMs ?? 2000;
    this.retryMs = options.retryIntervalMs ?? 2000;
    this.deadlineMs = options.renewDeadlineMs ?? 7000;
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the lease (empty holder) so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (!this.leading) return;
    this.lose('stopped');
    try {
      const lease = await this.client.readLease(this.options.namespace, this.options.name);
      if (lease?.holderIdentity !== this.options.identity) return;
      await this.client.replaceLease(this.options.namespace, this.options.name, { ...lease, holderIdentity: '', renewTimeMs: this.clock.wallMs(), leaseDurationSeconds: 1 }, lease.resourceVersion);
      this.options.log?.(`released lease ${this.options.namespace}/${this.options.name}`);
    } catch (err) {
      this.options.log?.(`could not release lease ${this.options.name} (it expires by itself): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const { namespace, name, identity } = this.options;
    let next = this.leading ? this.renewMs : this.retryMs;
    try {
      const lease = await this.client.readLease(namespace, name);
      const now = this.clock.monotonicMs();
      this.observation = observeLease(this.observation, lease, now);
      const decision = decideLease(lease, this.observation, identity, now, this.durationMs);
      if (this.stopped) return;
      switch (decision.action) {
        case 'wait':
          if (this.leading) this.lose(`lease ${name} is held by ${decision.holder}`);
          next = Math.max(50, Math.min(this.retryMs, decision.expiresAtMs - now + 10));
          break;
        case 'create':
        case 'renew':
        case 'acquire': {
          const record = leaseWrite(lease, decision, identity, this.clock.wallMs(), this.durationMs);
          const written: LeaseRecord =
            lease === undefined ? await this.client.createLease(namespace, name, record) : await this.client.replaceLease(namespace, name, record, lease.resourceVersion);
          this.observation = observeLease(this.observation, written, this.clock.monotonicMs());
          this.lastRenewMs = now;
          if (!this.leading && !this.stopped) {
            this.leading = true;
            this.options.log?.(`leading: holds lease ${namespace}/${name}${decision.action === 'acquire' && decision.previousHolder !== undefined ? ` (taken over from ${decision.previousHolder})` : ''}`);
            this.options.onStartedLeading();
          }
          next = this.renewMs;
          break;
        }
      }
    } catch (err) {
      const conflict = err instanceof KubeApiError && err.status === 409;
      if (!conflict) this.options.log?.(`lease ${name}: ${err instanceof Error ? err.message : String(err)}`);
      // A leader that cannot renew gives up before its lease can expire for the others.
      if (this.leading && this.clock.monotonicMs() - this.lastRenewMs > this.deadlineMs) this.lose(`could not renew lease ${name} for ${this.deadlineMs} ms`);
      next = conflict ? 0 : Math.min(next, 500);
    }
    this.schedule(next);
  }

  private lose(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.options.log?.(`stopped leading: ${reason}`);
    this.options.onStoppedLeading(reason);
  }
}
