import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { NodeKey } from '@infergraph/spec';
import type { ControlRuntimes, ExecutorHooks, RouteDecision } from './control-runtime';
import { checkGraphInputs } from './graph-input.checker';
import type { GraphPlan, PlanBinding, PlanNode } from './graph-plan';
import { awaitJoin } from './join';
import { SKIPPED, ok, type NodeOutcome } from './node-outcome';
import type { GraphAnswer, NodeTransport } from './node-transport';
import { detachedContext, remainingMs, type RequestContext } from './request-context';

export interface NodeTiming {
  readonly node: string;
  readonly type: string;
  /** Milliseconds from the start of the graph request. */
  readonly startMs: number;
  readonly durationMs: number;
  /**
   * `cancelled`: the node was still running when the request answered (its result was no longer needed,
   * or the request had ended) and it then failed; that failure is not the request's.
   */
  readonly status: 'ok' | 'error' | 'skipped' | 'cancelled';
}

export interface GraphResult {
  readonly outputs: readonly Tensor[];
  /** Present when the request context asked for a trace. */
  readonly timings: readonly NodeTiming[] | undefined;
  /** Route taken by each router that ran, e.g. `{ab: "forest"}`. */
  readonly routes: Readonly<Record<string, string>>;
}

/** The node part of a whole-graph call's name (`NodeKey.WHOLE_GRAPH`). */
const NodeKeyWholeGraph = NodeKey.WHOLE_GRAPH;

const NO_CONTROLS: ControlRuntimes = { routers: new Map(), combiners: new Map() };

export interface ExecutorOptions {
  /**
   * `auto` (the default) runs chain graphs (see `isChain`) node after node and the rest through the
   * scheduler; `scheduler` always uses the scheduler (the tests compare the two).
   */
  readonly schedule?: 'auto' | 'scheduler';
}

/** How one request runs (see GraphExecutor.execute). */
export interface ExecuteOptions {
  /** Per-node timings even when the request did not ask for a trace (a worker running a whole graph reports them). */
  readonly timings?: boolean;
}

/** State of one request as it moves through the graph. */
interface Run {
  readonly ctx: RequestContext;
  readonly requestInputs: TensorMap;
  readonly outcomes: Map<string, Promise<NodeOutcome>>;
  readonly decisions: Map<string, { route: string; shadows: readonly string[] }>;
  readonly started: number;
  readonly timings: NodeTiming[] | undefined;
  /** When each node's own work began (after waiting for its inputs), for timings. */
  readonly workStarted: Map<string, number>;
  /** Nodes whose transport call is outstanding, named in the deadline message. */
  readonly waiting: Set<string>;
  /** Set once execute() has settled: nodes not started by then are not started at all. */
  settled: boolean;
  /** The context of shadows and detectors (see detachedContext), made when the first one runs. */
  detachedCtx: RequestContext | undefined;
}

/** State of one request through a chain graph (see GraphExecutor.executeChain). */
interface ChainRun {
  readonly ctx: RequestContext;
  readonly started: number;
  readonly timings: NodeTiming[] | undefined;
  /** The node whose call is outstanding (at most one), named in the deadline message. */
  readonly waiting: string[];
  settled: boolean;
}

/**
 * True when no two nodes of the graph could ever run at once: every node after the first reads the node
 * just before it, and there are no combiners, shadows or detectors running beside it. Routers may be in the
 * line when every node after the first reads only the node before it and is gated only by it: then a route
 * not taken skips that node and every node after it, as the scheduler does, and a failure fails them all.
 */
export function isChain(plan: GraphPlan): boolean {
  const routed = plan.nodes.some((node) => node.type === 'router');
  return plan.nodes.every((node, i) => {
    if (node.type === 'combiner' || node.detached || node.gate?.shadow === true) return false;
    if (i === 0) return node.gate === undefined;
    const previous = (plan.nodes[i - 1] as PlanNode).name;
    if (!node.dependsOn.includes(previous)) return false;
    if (!routed) return node.gate === undefined;
    return node.bindings.every((b) => b.source === previous) && (node.gate === undefined || node.gate.router === previous);
  });
}

/**
 * Runs one compiled graph per request. Each node starts as soon as the nodes it depends on have an
 * outcome, so independent branches run concurrently. Model and transformer nodes go through the
 * transport; routing, joins and ensembles run here, so every transport behaves the same.
 */
export class GraphExecutor {
  /** Set when each node waits for the one before it (see `isChain`): those graphs run node after node. */
  private readonly chain: boolean;
  /** The plan's node names, made on the first whole-graph call. */
  private names: readonly string[] | undefined;

  constructor(
    readonly plan: GraphPlan,
    private readonly transport: NodeTransport,
    private readonly controls: ControlRuntimes = NO_CONTROLS,
    private readonly hooks: ExecutorHooks = {},
    options: ExecutorOptions = {},
  ) {
    this.chain = options.schedule !== 'scheduler' && isChain(plan);
  }

  /** Why each node the answer needs cannot be served now (see NodeTransport.unavailable); empty when all can. */
  unavailableNodes(): string[] {
    const why: string[] = [];
    for (const node of this.plan.nodes) {
      if (node.detached || node.type === 'router' || node.type === 'combiner') continue;
      const reason = this.transport.unavailable?.(this.plan.name, node.name);
      if (reason !== undefined) why.push(reason);
    }
    return why;
  }

  execute(inputs: readonly Tensor[], ctx: RequestContext, options?: ExecuteOptions): Promise<GraphResult> {
    // Not an async function: every layer of promise is paid per request. Errors still reject.
    try {
      checkGraphInputs(this.plan.name, this.plan.inputs, inputs);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (!this.chain) return this.schedule(inputs, ctx);
    return (this.transport.wholeGraph === undefined ? undefined : this.delegate(inputs, ctx)) ?? this.executeChain(inputs, ctx, options?.timings === true);
  }

  /**
   * A chain graph whose nodes one replica holds runs there in one call (see NodeTransport.invokeGraph): the
   * answer brings the graph's outputs, the routes and each node's timing, reported here as node events as if
   * the nodes had run one by one. Undefined when the transport cannot; a replica that declines without
   * running anything sends the request node by node.
   */
  private delegate(inputs: readonly Tensor[], ctx: RequestContext): Promise<GraphResult> | undefined {
    const run = this.transport.wholeGraph?.(this.plan.name, this.nodeNames);
    if (run === undefined) return undefined;
    const started = performance.now();
    const graph = this.plan.name;
    const tracer = this.hooks.tracer;
    const call = tracer === undefined ? run({ graph, inputs, ctx }) : tracer.node({ graph, node: NodeKeyWholeGraph, type: 'graph', served: false }, ctx, (c) => run({ graph, inputs, ctx: c }));
    // The transport is asked where the call waits only when the deadline passes, as for node calls.
    const answered = withTimeout(call, remainingMs(ctx), () => {
      const where = this.transport.describeWait?.(graph, NodeKeyWholeGraph);
      return `graph "${graph}" did not finish within its deadline (${Math.round(performance.now() - started)} ms elapsed); still waiting for the whole graph${where === undefined ? '' : ` (${where})`}`;
    });
    return answered.then((answer) => (answer === undefined ? this.executeChain(inputs, ctx, false) : this.reportAnswer(answer, ctx, started)));
  }

  private get nodeNames(): readonly string[] {
    return (this.names ??= this.plan.nodes.map((n) => n.name));
  }

  private reportAnswer(answer: GraphAnswer, ctx: RequestContext, started: number): GraphResult {
    const hooks = this.hooks;
    if (hooks.onNodeResult !== undefined) {
      for (const t of answer.timings) {
        hooks.onNodeResult({ graph: this.plan.name, node: t.node, requestId: ctx.requestId, type: t.type, status: t.status, seconds: t.durationMs / 1000, route: answer.routes[t.node] });
      }
    }
    // Timings on the replica count from its own start; the request here started a hop earlier.
    const offset = round(performance.now() - started - lastEnd(answer.timings));
    const timings = ctx.trace ? answer.timings.map((t) => ({ ...t, startMs: round(t.startMs + Math.max(0, offset)) })) : undefined;
    return { outputs: answer.outputs, timings, routes: answer.routes };
  }

  private async schedule(inputs: readonly Tensor[], ctx: RequestContext): Promise<GraphResult> {
    const run: Run = {
      ctx,
      requestInputs: new Map(inputs.map((t) => [t.name, t])),
      outcomes: new Map(),
      decisions: new Map(),
      started: performance.now(),
      timings: ctx.trace ? [] : undefined,
      workStarted: new Map(),
      waiting: new Set(),
      settled: false,
      detachedCtx: undefined,
    };
    for (const node of this.plan.nodes) run.outcomes.set(node.name, this.runNode(node, run));
    this.reportShadows(run);

    // The answer waits only for what it needs: the outputs and the nodes nothing reads (a guard's verdict).
    // A branch a join no longer needs (`any` after its first success, `outer` after its window) and
    // shadows and drift detectors hold neither the answer nor the deadline; they end with the request.
    try {
      return await withTimeout(
        this.collect(run),
        remainingMs(ctx),
        () => this.deadlineMessage(run.started, run.waiting),
        () => (run.settled = true),
      );
    } finally {
      // Like the request's signal: once the caller has its answer, nodes not yet started never start.
      run.settled = true;
    }
  }

  private async collect(run: Run): Promise<GraphResult> {
    for (const node of this.plan.nodes) {
      if (node.detached || node.consumed) continue;
      const outcome = await (run.outcomes.get(node.name) as Promise<NodeOutcome>);
      if (outcome.status === 'failed') throw outcome.error;
    }
    const outputs: Tensor[] = [];
    for (const out of this.plan.outputBindings) {
      const tensors = await this.resolveOutput(out.bindings, run);
      for (const t of tensors) outputs.push(out.name === undefined ? t : { ...t, name: out.name });
    }
    const routes: Record<string, string> = {};
    for (const [router, d] of run.decisions) if (!this.isShadow(router)) routes[router] = d.route;
    return { outputs, timings: run.timings, routes };
  }

  /**
   * A graph whose nodes form one line (each waits for the one before it) cannot run two nodes at once,
   * so it runs them in order in one async function: the same outcomes, errors, node events and timings as
   * the scheduler above, without a promise per node and per dependency.
   */
  private executeChain(inputs: readonly Tensor[], ctx: RequestContext, timings: boolean): Promise<GraphResult> {
    const run: ChainRun = { ctx, started: performance.now(), timings: ctx.trace || timings ? [] : undefined, waiting: [], settled: false };
    return withTimeout(
      this.runChain(inputs, run),
      remainingMs(ctx),
      () => this.deadlineMessage(run.started, run.waiting),
      () => (run.settled = true),
    );
  }

  private async runChain(inputs: readonly Tensor[], run: ChainRun): Promise<GraphResult> {
    const requestInputs = new Map<string, Tensor>();
    for (const t of inputs) requestInputs.set(t.name, t);
    // Nodes that ran; a skipped node (route not taken) is absent, and so is every node after it.
    const produced = new Map<string, TensorMap>();
    const routes: Record<string, string> = {};
    let decision: RouteDecision | undefined;
    let skipping = false;
    const nodes = this.plan.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i] as PlanNode;
      const workStart = performance.now();
      // Its router is the node before it (see isChain), so `decision` is that router's.
      if (skipping || (node.gate !== undefined && decision?.route !== node.gate.route)) {
        skipping = true;
        this.reportNode(node, run, workStart, 'skipped', undefined);
        continue;
      }
      let tensors: TensorMap;
      try {
        // Nothing starts once the caller has its answer (the deadline passed), as with the scheduler.
        if (run.settled) throw new InferenceError('DEADLINE_EXCEEDED', `request ended before node "${node.name}" ran`);
        const gathered = gatherChain(node, requestInputs, produced);
        if (node.type === 'router') {
          decision = this.decide(node, gathered, run.ctx);
          routes[node.name] = decision.route;
          tensors = gathered;
        } else {
          run.waiting.push(node.name);
          tensors = await withNodeTimeout(this.traced(node, run.ctx, (c) => this.transport.invoke({ graph: this.plan.name, node: node.name, inputs: gathered, ctx: c })), node);
        }
      } catch (err) {
        // Like the scheduler: the failed node and every node after it (which then fails with it) report an error.
        const status = run.settled ? 'cancelled' : 'error';
        for (let j = i; j < nodes.length; j++) this.reportNode(nodes[j] as PlanNode, run, j === i ? workStart : performance.now(), status, undefined);
        throw wrapNodeError(node.name, err);
      } finally {
        run.waiting.length = 0;
      }
      this.reportNode(node, run, workStart, 'ok', node.type === 'router' ? decision?.route : undefined);
      produced.set(node.name, tensors);
    }
    const outputs: Tensor[] = [];
    for (const out of this.plan.outputBindings) {
      const binding = out.bindings.find((b) => b.source === undefined || produced.has(b.source));
      if (binding === undefined) throw noBranchProduced(out.bindings);
      for (const t of select(binding.source === undefined ? requestInputs : (produced.get(binding.source) as TensorMap), binding)) {
        outputs.push(out.name === undefined ? t : { ...t, name: out.name });
      }
    }
    return { outputs, timings: run.timings, routes };
  }

  private decide(node: PlanNode, inputs: TensorMap, ctx: RequestContext): RouteDecision {
    const router = this.controls.routers.get(node.name);
    if (router === undefined) throw new Error(`no router runtime for node "${node.name}"`);
    return router.decide(inputs, ctx);
  }

  /** Names the node calls still outstanding at the deadline, with where the transport was waiting. */
  private deadlineMessage(started: number, waiting: Iterable<string>): string {
    const elapsed = Math.round(performance.now() - started);
    const waits = [...waiting].map((node) => {
      const hint = this.transport.describeWait?.(this.plan.name, node);
      return hint === undefined ? `node "${node}"` : `node "${node}" (${hint})`;
    });
    return `graph "${this.plan.name}" did not finish within its deadline (${elapsed} ms elapsed)${waits.length > 0 ? `; still waiting for ${waits.join(', ')}` : ''}`;
  }

  private async resolveOutput(alternatives: readonly PlanBinding[], run: Run): Promise<Iterable<Tensor>> {
    for (const binding of alternatives) {
      const outcome = await this.outcomeOf(binding, run);
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'ok') return select(outcome.tensors, binding);
    }
    throw noBranchProduced(alternatives);
  }

  private outcomeOf(binding: PlanBinding, run: Run): Promise<NodeOutcome> | NodeOutcome {
    if (binding.source === undefined) return ok(run.requestInputs);
    const outcome = run.outcomes.get(binding.source);
    if (outcome === undefined) throw new Error(`node "${binding.source}" has not been scheduled`);
    return outcome;
  }

  private async runNode(node: PlanNode, run: Run): Promise<NodeOutcome> {
    const startedAt = performance.now();
    const outcome = await this.evaluate(node, run).catch((err: unknown): NodeOutcome => ({ status: 'failed', error: wrapNodeError(node.name, err) }));
    if (!node.detached) {
      // A failure after the request answered is not the request's (nor a server error): the branch was
      // not needed anymore, or the request ended and so the call was cut short.
      const status = outcome.status === 'ok' ? 'ok' : outcome.status === 'skipped' ? 'skipped' : run.settled ? 'cancelled' : 'error';
      const route = node.type === 'router' ? run.decisions.get(node.name)?.route : undefined;
      this.reportNode(node, run, run.workStarted.get(node.name) ?? startedAt, status, route);
    }
    return outcome;
  }

  /** A finished node's timing (when traced) and its node event. */
  private reportNode(node: PlanNode, run: Pick<Run, 'ctx' | 'started' | 'timings'>, workStart: number, status: NodeTiming['status'], route: string | undefined): void {
    if (run.timings === undefined && this.hooks.onNodeResult === undefined) return;
    const durationMs = performance.now() - workStart;
    run.timings?.push({ node: node.name, type: node.type, startMs: round(workStart - run.started), durationMs: round(durationMs), status });
    // `route` undefined for all but routers, which listeners treat as absent.
    this.hooks.onNodeResult?.({ graph: this.plan.name, node: node.name, requestId: run.ctx.requestId, type: node.type, status, seconds: durationMs / 1000, route });
  }

  private async evaluate(node: PlanNode, run: Run): Promise<NodeOutcome> {
    if (node.gate !== undefined) {
      const routerOutcome = await (run.outcomes.get(node.gate.router) as Promise<NodeOutcome>);
      if (routerOutcome.status !== 'ok') return routerOutcome;
      const decision = run.decisions.get(node.gate.router);
      const taken = node.gate.shadow ? decision?.shadows.includes(node.gate.route) : decision?.route === node.gate.route;
      if (taken !== true) return SKIPPED;
    }
    if (node.type === 'combiner') return this.combine(node, run);

    const gathered = new Map<string, Tensor>();
    let delivered = node.bindings.length === 0;
    for (const binding of node.bindings) {
      const outcome = await this.outcomeOf(binding, run);
      if (outcome.status === 'failed') return outcome;
      if (outcome.status === 'skipped') continue;
      delivered = true;
      gatherInto(gathered, node, binding, outcome.tensors);
    }
    if (!delivered) return SKIPPED;
    // Shadows and detectors may start after the answer: they run beside the request anyway.
    if (run.settled && !node.detached) throw new InferenceError('DEADLINE_EXCEEDED', `request ended before node "${node.name}" ran`);

    run.workStarted.set(node.name, performance.now());
    if (node.type === 'router') {
      run.decisions.set(node.name, this.decide(node, gathered, run.ctx));
      return ok(gathered);
    }
    // Detached nodes outlive the answer (up to the deadline); the rest end with the request.
    const nodeCtx = node.detached ? (run.detachedCtx ??= detachedContext(run.ctx)) : run.ctx;
    const call = this.traced(node, nodeCtx, (ctx) => this.transport.invoke({ graph: this.plan.name, node: node.name, inputs: gathered, ctx }));
    run.waiting.add(node.name);
    try {
      return ok(await withNodeTimeout(call, node));
    } finally {
      run.waiting.delete(node.name);
    }
  }

  private async combine(node: PlanNode, run: Run): Promise<NodeOutcome> {
    const combiner = this.controls.combiners.get(node.name);
    const policy = node.join;
    if (combiner === undefined || policy === undefined) throw new Error(`no combiner runtime for node "${node.name}"`);
    const branchOutcomes = node.bindings.map((b) => Promise.resolve(this.outcomeOf(b, run)));
    const joined = await awaitJoin(branchOutcomes, policy);
    run.workStarted.set(node.name, performance.now());
    const branches: { source: string | undefined; tensors: TensorMap }[] = [];
    let firstError: InferenceError | undefined;
    joined.forEach((outcome, i) => {
      const binding = node.bindings[i] as PlanBinding;
      if (outcome?.status === 'failed') firstError ??= outcome.error;
      if (outcome?.status !== 'ok') return;
      const tensors = new Map<string, Tensor>();
      gatherInto(tensors, node, binding, outcome.tensors);
      branches.push({ source: binding.source, tensors });
    });
    if (firstError !== undefined && policy.onError === 'fail') return { status: 'failed', error: firstError };
    if (branches.length === 0) {
      if (firstError !== undefined) return { status: 'failed', error: firstError };
      if (joined.every((o) => o?.status === 'skipped')) return SKIPPED;
      throw new InferenceError('DEADLINE_EXCEEDED', `combiner "${node.name}" received no branch`);
    }
    return ok(await withNodeTimeout(this.traced(node, run.ctx, (ctx) => combiner.combine(branches, ctx)), node));
  }

  private traced<T>(node: PlanNode, ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T> {
    const tracer = this.hooks.tracer;
    if (tracer === undefined) return work(ctx);
    return tracer.node({ graph: this.plan.name, node: node.name, type: node.type, served: false }, ctx, work);
  }

  private reportShadows(run: Run): void {
    const hooks = this.hooks;
    if (hooks.onShadowResult === undefined) return;
    for (const node of this.plan.nodes) {
      if (!node.shadow) continue;
      const started = performance.now();
      void (run.outcomes.get(node.name) as Promise<NodeOutcome>).then((outcome) => {
        if (outcome.status === 'skipped') return;
        hooks.onShadowResult?.({
          graph: this.plan.name,
          requestId: run.ctx.requestId,
          node: node.name,
          router: node.gate?.router,
          status: outcome.status,
          error: outcome.status === 'failed' ? outcome.error.message : undefined,
          durationMs: round(performance.now() - started),
        });
      });
    }
  }

  private isShadow(name: string): boolean {
    return this.plan.nodes.find((n) => n.name === name)?.shadow ?? false;
  }
}

/** A chain node's inputs. A node that reads all of one source, unrenamed, gets that source's map as it is. */
function gatherChain(node: PlanNode, requestInputs: TensorMap, produced: ReadonlyMap<string, TensorMap>): TensorMap {
  const sourceOf = (b: PlanBinding): TensorMap => (b.source === undefined ? requestInputs : (produced.get(b.source) as TensorMap));
  const only = node.bindings.length === 1 ? (node.bindings[0] as PlanBinding) : undefined;
  if (only !== undefined && only.tensor === undefined && !node.renames) return sourceOf(only);
  const gathered = new Map<string, Tensor>();
  for (const binding of node.bindings) gatherInto(gathered, node, binding, sourceOf(binding));
  return gathered;
}

function gatherInto(target: Map<string, Tensor>, node: PlanNode, binding: PlanBinding, source: TensorMap): void {
  if (!node.renames) {
    for (const t of select(source, binding)) target.set(t.name, t);
    return;
  }
  for (const t of select(source, binding)) {
    const qualified = binding.source === undefined ? `graph.inputs.${t.name}` : `${binding.source}.outputs.${t.name}`;
    const renamed = node.tensorMap[qualified] ?? node.tensorMap[t.name];
    target.set(renamed ?? t.name, renamed === undefined ? t : { ...t, name: renamed });
  }
}

function select(source: TensorMap, binding: PlanBinding): Iterable<Tensor> {
  if (binding.tensor === undefined) return source.values();
  const t = source.get(binding.tensor);
  if (t === undefined) {
    throw new InferenceError('INTERNAL', `${describeBinding(binding)} was not produced (got: ${[...source.keys()].join(', ')})`);
  }
  return [t];
}

function noBranchProduced(alternatives: readonly PlanBinding[]): InferenceError {
  return new InferenceError('INTERNAL', `no branch produced ${alternatives.map(describeBinding).join(' or ')}`);
}

function describeBinding(binding: PlanBinding): string {
  const from = binding.source === undefined ? 'graph.inputs' : `${binding.source}.outputs`;
  return binding.tensor === undefined ? from : `${from}.${binding.tensor}`;
}

/**
 * Rejects with DEADLINE_EXCEEDED (and the message) when `work` outlives `ms`. `settled` runs once, just
 * before the returned promise settles either way.
 */
function withTimeout<T>(work: Promise<T>, ms: number, message: () => string, settled?: () => void): Promise<T> {
  // One promise and one timer per call: no Promise.race, no timeout promise, no async frame.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      settled?.();
      reject(new InferenceError('DEADLINE_EXCEEDED', message()));
    }, Math.max(0, ms));
    work.then(
      (value) => {
        clearTimeout(timer);
        settled?.();
        resolve(value);
      },
      (err: Error) => {
        clearTimeout(timer);
        settled?.();
        reject(err);
      },
    );
  });
}

/** When the last of a run's nodes ended, in ms from the run's start (0 without timings). */
function lastEnd(timings: readonly NodeTiming[]): number {
  let end = 0;
  for (const t of timings) end = Math.max(end, t.startMs + t.durationMs);
  return end;
}

function withNodeTimeout<T>(work: Promise<T>, node: PlanNode): Promise<T> {
  const ms = node.timeoutMs;
  if (ms === undefined) return work;
  return withTimeout(work, ms, () => `node "${node.name}" did not finish within its timeoutMs (${ms} ms)`);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function wrapNodeError(node: string, err: unknown): InferenceError {
  if (err instanceof InferenceError) {
    return err.message.includes(`node "${node}"`)
      ? err
      : new InferenceError(err.code, `node "${node}": ${err.message}`, { cause: err, details: err.details });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InferenceError('INTERNAL', `node "${node}" failed: ${message}`, { cause: err });
}
