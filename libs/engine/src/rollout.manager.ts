import type { Tensor } from '@infergraph/protocol';
import type { RolloutConfig } from '@infergraph/spec';
import {
  goesToCandidate,
  holdReached,
  isFinished,
  isServerFault,
  judge,
  nextPosition,
  p99Of,
  startOf,
  weightOf,
  type AgreementSample,
  type Judgement,
  type RolloutPosition,
  type VersionSample,
} from '@infergraph/rollout';
import { compareVersions } from './graph-version.policy';
import type { EngineLogger, GraphRegistry, RequestResult } from './graph.registry';

/** Latencies kept per version and phase for its p99: the newest ones. */
const LATENCY_WINDOW = 10_000;

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';

interface Accumulator {
  requests: number;
  errors: number;
  latenciesMs: number[];
}

interface Rollout {
  readonly id: string;
  readonly graph: string;
  readonly from: string;
  readonly to: string;
  readonly config: RolloutConfig;
  position: RolloutPosition;
  phaseStartedMs: number;
  candidate: Accumulator;
  baseline: Accumulator;
  agreement: { compared: number; agreed: number };
  judgement: Judgement | undefined;
  readonly history: { at: string; phase: string; step: number; weightPercent: number; reason: string }[];
}

/** A rollout as the API shows it. */
export interface RolloutStatus {
  readonly graph: string;
  readonly from: string;
  readonly to: string;
  readonly phase: RolloutPosition['phase'];
  readonly step: number;
  readonly steps: number;
  readonly paused: boolean;
  readonly weightPercent: number;
  /** The current (or, once finished, the last) phase's measurements of both versions. */
  readonly measurements: { readonly candidate: VersionSample & { readonly errorRatio: number }; readonly baseline: VersionSample & { readonly errorRatio: number }; readonly agreement: AgreementSample };
  readonly lastJudgement: Judgement | undefined;
  readonly history: readonly { readonly at: string; readonly phase: string; readonly step: number; readonly weightPercent: number; readonly reason: string }[];
}

/**
 * Canary rollouts (`spec.rollout`): a version that declares one and loads beside the graph's current
 * default is held back from the default (GraphRegistry) and given traffic step by step; this class picks
 * the version of each unversioned request, measures both versions from the engine's `request` events, judges
 * every phase (libs/rollout) and promotes or rolls back. Every transition is logged and emitted as a
 * `rollout` engine event (metrics).
 */
export class RolloutManager {
  private readonly rollouts = new Map<string, Rollout>();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly logger: EngineLogger,
    private readonly random: () => number = Math.random,
  ) {
    // Any version loading may be the partner a held version waited for (e.g. both loading at start-up).
    registry.events.on('loaded', (r) => {
      if (r.state !== 'ready') return;
      for (const e of registry.versionsOf(r.graph)) {
        if (e.version === undefined || e.graph?.spec.spec.rollout === undefined || registry.isPromoted(r.graph, e.version)) continue;
        if (e.version === r.version || this.rollouts.get(r.graph)?.to !== e.version) this.maybeStart(r.graph, e.version);
      }
    });
    registry.events.on('request', (r) => this.measure(r));
    registry.events.on('versions', ({ graph }) => this.checkVersions(graph));
    // Seconds-held phases end even without traffic.
    this.ticker = setInterval(() => {
      for (const r of this.rollouts.values()) this.evaluate(r);
    }, 250);
    this.ticker.unref();
  }

  close(): void {
    clearInterval(this.ticker);
  }

  /** The version an unversioned request of a graph goes to while a canary runs; undefined: the default. */
  versionFor(graph: string, headers: Readonly<Record<string, string>>): string | undefined {
    const r = this.rollouts.get(graph);
    if (r === undefined || r.position.phase !== 'canary') return undefined;
    const header = r.config.sticky?.header.toLowerCase();
    const key = header === undefined ? undefined : headers[header];
    return goesToCandidate(weightOf(r.config, r.position), r.id, key === '' ? undefined : key, this.random()) ? r.to : r.from;
  }

  /** The version that answers a discarded copy of each unversioned request (shadow phase), if any. */
  shadowOf(graph: string): string | undefined {
    const r = this.rollouts.get(graph);
    return r !== undefined && r.position.phase === 'shadow' ? r.to : undefined;
  }

  /** Shadow phase: whether the new version's outputs agreed with the answer the caller got. */
  recordAgreement(graph: string, version: string, served: readonly Tensor[], shadow: readonly Tensor[]): void {
    const r = this.rollouts.get(graph);
    if (r === undefined || r.to !== version || r.position.phase !== 'shadow') return;
    r.agreement.compared++;
    if (sameOutputs(served, shadow)) r.agreement.agreed++;
  }

  list(): RolloutStatus[] {
    return [...this.rollouts.values()].map((r) => statusOf(r));
  }

  status(graph: string): RolloutStatus | undefined {
    const r = this.rollouts.get(graph);
    return r === undefined ? undefined : statusOf(r);
  }

  /** Operator control; throws (with the reason) when the action does not apply. */
  control(graph: string, action: RolloutAction): RolloutStatus {
    const r = this.rollouts.get(graph);
    if (r === undefined) throw new Error(`graph "${graph}" has no rollout`);
    if (isFinished(r.position)) throw new Error(`the rollout of graph "${graph}" version ${r.to} is already ${r.position.phase}`);
    switch (action) {
      case 'pause':
        this.move(r, { ...r.position, paused: true }, 'paused by an operator');
        break;
      case 'resume':
        this.move(r, { ...r.position, paused: false }, 'resumed by an operator');
        break;
      case 'abort':
        this.move(r, { ...r.position, phase: 'aborted', paused: false }, 'aborted by an operator');
        break;
      case 'promote':
        this.move(r, { ...r.position, phase: 'promoted', paused: false }, 'promoted by an operator');
        break;
    }
    return statusOf(r);
  }

  private maybeStart(graph: string, version: string): void {
    const config = this.registry.get(graph, version)?.graph?.spec.spec.rollout;
    if (config === undefined) return;
    const from = this.registry.defaultVersion(graph);
    const running = this.rollouts.get(graph);
    if (running !== undefined && !isFinished(running.position)) this.move(running, { ...running.position, phase: 'aborted', paused: false }, `superseded by a new load of version ${version}`);
    if (from === undefined || from === version) {
      this.logger.log(`rollout graph="${graph}" version=${version}: no other version serves the graph yet; it serves alone until one loads`);
      return;
    }
    if (compareVersions(version, from) <= 0) {
      this.logger.warn(`rollout graph="${graph}" version=${version}: not started, a rollout's version must order after the current default ${from}; it is served only by its version path`);
      return;
    }
    // Callers are authenticated before the version is picked: both versions must ask the same of them.
    const authOf = (v: string): string => JSON.stringify(this.registry.get(graph, v)?.graph?.spec.spec.auth ?? null);
    if (authOf(version) !== authOf(from)) {
      this.logger.warn(`rollout graph="${graph}" version=${version}: not started, its spec.auth differs from version ${from}'s; it is served only by its version path`);
      return;
    }
    const unavailable = this.unavailableNodes(graph, version);
    const r: Rollout = {
      id: `${graph}:${version}`,
      graph,
      from,
      to: version,
      config,
      position: unavailable.length === 0 ? startOf(config) : { phase: 'waiting', step: 0, paused: false },
      phaseStartedMs: performance.now(),
      candidate: empty(),
      baseline: empty(),
      agreement: { compared: 0, agreed: 0 },
      judgement: undefined,
      history: [],
    };
    this.rollouts.set(graph, r);
    this.note(r, unavailable.length === 0 ? `started: version ${version} against ${from}` : `waiting until version ${version} can serve: ${unavailable.join('; ')}`);
  }

  /** Why a version cannot serve yet (e.g. a node with no READY replica on any worker); empty: it can. */
  private unavailableNodes(graph: string, version: string): readonly string[] {
    return this.registry.get(graph, version)?.graph?.executor.unavailableNodes() ?? ['it is not loaded'];
  }

  private measure(result: RequestResult): void {
    const r = this.rollouts.get(result.graph);
    if (r === undefined || isFinished(r.position) || r.position.phase === 'waiting') return;
    const acc = result.version === r.to ? r.candidate : result.version === r.from ? r.baseline : undefined;
    if (acc === undefined) return;
    acc.requests++;
    if (isServerFault(result.code)) acc.errors++;
    acc.latenciesMs.push(result.seconds * 1000);
    if (acc.latenciesMs.length > LATENCY_WINDOW) acc.latenciesMs.splice(0, acc.latenciesMs.length - LATENCY_WINDOW);
    this.evaluate(r);
  }

  private evaluate(r: Rollout): void {
    if (isFinished(r.position)) return;
    if (r.position.phase === 'waiting') {
      // Traffic moves only once every node of the new version can serve (its replicas are READY on workers).
      if (this.unavailableNodes(r.graph, r.to).length === 0) this.move(r, { ...startOf(r.config), paused: r.position.paused }, `started: version ${r.to} can serve, against ${r.from}`);
      return;
    }
    // Judged after every request: a p99 (a sort of up to LATENCY_WINDOW latencies) only where a check reads it.
    const checks = r.config.checks;
    const judged = r.candidate.requests >= checks.minRequests;
    const candidate = sampleOf(r.candidate, judged && (checks.maxP99Ms !== undefined || checks.maxP99Ratio !== undefined));
    const baseline = sampleOf(r.baseline, judged && checks.maxP99Ratio !== undefined);
    const judgement = judge(checks, candidate, baseline, r.position.phase === 'shadow' ? r.agreement : undefined);
    r.judgement = judgement;
    const held = holdReached(r.config, r.position, r.candidate.requests, (performance.now() - r.phaseStartedMs) / 1000);
    const next = nextPosition(r.config, r.position, judgement, held);
    if (next.phase === r.position.phase && next.step === r.position.step && next.paused === r.position.paused) return;
    this.move(r, next, `${judgement.verdict === 'fail' ? 'check failed' : 'checks passed'}: ${judgement.reasons.join('; ')}`);
  }

  private move(r: Rollout, next: RolloutPosition, reason: string): void {
    const phaseChanged = next.phase !== r.position.phase || next.step !== r.position.step;
    r.position = next;
    // A new phase is judged on its own requests; a finished rollout keeps the measurements that decided it.
    if (phaseChanged && !isFinished(next)) {
      r.phaseStartedMs = performance.now();
      r.candidate = empty();
      r.baseline = empty();
      r.agreement = { compared: 0, agreed: 0 };
    }
    if (next.phase === 'promoted') this.registry.promote(r.graph, r.to);
    this.note(r, reason);
  }

  private note(r: Rollout, reason: string): void {
    const weightPercent = weightOf(r.config, r.position);
    const phase = r.position.paused ? `${r.position.phase} (paused)` : r.position.phase;
    r.history.push({ at: new Date().toISOString(), phase, step: r.position.step, weightPercent, reason });
    const line = `rollout graph="${r.graph}" ${r.from} -> ${r.to} phase=${phase} step=${r.position.step + 1}/${r.config.steps.length} weight=${weightPercent}%: ${reason}`;
    if (r.position.phase === 'rolled-back' || r.position.phase === 'aborted') this.logger.warn(line);
    else this.logger.log(line);
    this.registry.events.emit('rollout', { graph: r.graph, from: r.from, to: r.to, phase: r.position.phase, weightPercent, reason });
  }

  /** A version the rollout needs went away (unloaded, or its file now says another version): abort. */
  private checkVersions(graph: string): void {
    const r = this.rollouts.get(graph);
    if (r === undefined || isFinished(r.position)) return;
    for (const v of [r.from, r.to]) {
      if (this.registry.get(graph, v)?.graph === undefined) {
        this.move(r, { ...r.position, phase: 'aborted', paused: false }, `version ${v} is no longer served`);
        return;
      }
    }
  }
}

function empty(): Accumulator {
  return { requests: 0, errors: 0, latenciesMs: [] };
}

function sampleOf(a: Accumulator, withP99 = true): VersionSample {
  return { requests: a.requests, errors: a.errors, p99Ms: withP99 ? p99Of(a.latenciesMs) : undefined };
}

function statusOf(r: Rollout): RolloutStatus {
  const withRatio = (a: Accumulator): VersionSample & { errorRatio: number } => ({ ...sampleOf(a), errorRatio: a.requests === 0 ? 0 : a.errors / a.requests });
  return {
    graph: r.graph,
    from: r.from,
    to: r.to,
    phase: r.position.phase,
    step: r.position.step + 1,
    steps: r.config.steps.length,
    paused: r.position.paused,
    weightPercent: weightOf(r.config, r.position),
    measurements: { candidate: withRatio(r.candidate), baseline: withRatio(r.baseline), agreement: { ...r.agreement } },
    lastJudgement: r.judgement,
    history: [...r.history],
  };
}

/** Same tensors by name, with equal shapes and values (numbers within 1e-5, relative). */
function sameOutputs(a: readonly Tensor[], b: readonly Tensor[]): boolean {
  if (a.length !== b.length) return false;
  for (const x of a) {
    const y = b.find((t) => t.name === x.name);
    if (y === undefined || x.datatype !== y.datatype || x.shape.join(',') !== y.shape.join(',') || x.data.length !== y.data.length) return false;
    for (let i = 0; i < x.data.length; i++) {
      const u: unknown = x.data[i];
      const v: unknown = y.data[i];
      if (typeof u === 'number' && typeof v === 'number') {
        if (Math.abs(u - v) > 1e-5 * Math.max(1, Math.abs(u), Math.abs(v))) return false;
      } else if (u !== v) return false;
    }
  }
  return true;
}
