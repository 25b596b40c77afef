/** Autoscaling bounds of one node: `replicas: {min, max, targetInFlight}` in the graph. */
export interface ScalePolicy {
  readonly key: string;
  readonly min: number;
  readonly max: number;
  readonly targetInFlight: number;
}

export interface AutoscalerOptions {
  /** In-flight per replica must stay above the target this long before a replica is added. */
  readonly upAfterMs: number;
  /** A node must see no request in flight this long before a replica is removed. */
  readonly idleAfterMs: number;
  /** Minimum time between two changes of one node. */
  readonly cooldownMs: number;
}

interface Sample {
  readonly at: number;
  readonly inFlight: number;
  readonly perReplica: number;
}

/**
 * Decides replica counts from observed load: one replica more when in-flight requests per replica
 * stayed above the target for `upAfterMs`, one fewer after `idleAfterMs` without any request, always
 * within [min, max] and at most one change per `cooldownMs`. Pure: time is passed in.
 */
export class Autoscaler {
  private policies = new Map<string, ScalePolicy>();
  private readonly samples = new Map<string, Sample[]>();
  private readonly lastChange = new Map<string, number>();

  constructor(private readonly options: AutoscalerOptions) {}

  setPolicies(policies: readonly ScalePolicy[]): void {
    this.policies = new Map(policies.map((p) => [p.key, p]));
    for (const key of [...this.samples.keys()]) if (!this.policies.has(key)) this.samples.delete(key);
  }

  /** Records the total in-flight requests of a node and how many replicas served them. */
  observe(key: string, inFlight: number, replicas: number, now: number): void {
    if (!this.policies.has(key)) return;
    const list = this.samples.get(key) ?? [];
    list.push({ at: now, inFlight, perReplica: inFlight / Math.max(replicas, 1) });
    const horizon = now - Math.max(this.options.upAfterMs, this.options.idleAfterMs) - 1000;
    while (list.length > 0 && (list[0] as Sample).at < horizon) list.shift();
    this.samples.set(key, list);
  }

  /** New replica counts for the nodes that should change, given how many each wants now. */
  decide(wanted: (key: string) => number | undefined, now: number): { key: string; replicas: number; reason: string }[] {
    const changes: { key: string; replicas: number; reason: string }[] = [];
    for (const policy of this.policies.values()) {
      const current = wanted(policy.key);
      if (current === undefined) continue;
      const since = this.lastChange.get(policy.key);
      if (since !== undefined && now - since < this.options.cooldownMs) continue;
      const samples = this.samples.get(policy.key) ?? [];
      const clamp = Math.min(policy.max, Math.max(policy.min, current));
      let next = clamp;
      let reason = clamp !== current ? `outside [${policy.min}, ${policy.max}]` : '';
      // Decisions look only at observations since the last change, over a full window.
      const fresh = since === undefined ? samples : samples.filter((s) => s.at > since);
      if (this.covers(fresh, now, this.options.upAfterMs) && this.window(fresh, now, this.options.upAfterMs).every((s) => s.perReplica > policy.targetInFlight)) {
        if (clamp < policy.max) {
          next = clamp + 1;
          reason = `in-flight per replica above ${policy.targetInFlight} for ${this.options.upAfterMs} ms`;
        }
      } else if (this.covers(fresh, now, this.options.idleAfterMs) && this.window(fresh, now, this.options.idleAfterMs).every((s) => s.inFlight === 0)) {
        if (clamp > policy.min) {
          next = clamp - 1;
          reason = `idle for ${this.options.idleAfterMs} ms`;
        }
      }
      if (next !== current) {
        this.lastChange.set(policy.key, now);
        changes.push({ key: policy.key, replicas: next, reason });
      }
    }
    return changes;
  }

  private window(samples: readonly Sample[], now: number, ms: number): Sample[] {
    return samples.filter((s) => s.at >= now - ms);
  }

  /** Whether observations reach back at least `ms` (so "stayed above" means something). */
  private covers(samples: readonly Sample[], now: number, ms: number): boolean {
    const first = samples[0];
    return first !== undefined && first.at <= now - ms && this.window(samples, now, ms).length > 0;
  }
}
