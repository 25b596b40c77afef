import { InferenceError } from '@infergraph/protocol';
import type { NodeTiming } from './graph.executor';

// How a replica that ran a whole graph (NodeTransport.invokeGraph) reports its nodes beside the outputs: two
// string parameters of its answer. Node, route and type names are DNS labels or plain words, so "," ";" ":"
// and "=" never occur in them.
//   infergraph_nodes   "<node>:<type>:<status>:<startMs>:<durationMs>;…" in the order the nodes ran
//   infergraph_routes  "<router>=<route>;…"

export const GRAPH_ANSWER_PARAM = { nodes: 'infergraph_nodes', routes: 'infergraph_routes' } as const;

/**
 * A replica's refusal of a whole-graph call it cannot run (it does not hold every node, say): nothing ran, and
 * the caller runs the request node by node. Travels as NOT_FOUND with `details.wholeGraph: "declined"` over
 * every wire (gRPC status details, Kafka's x-error-details header).
 */
export function wholeGraphDeclined(message: string): InferenceError {
  return new InferenceError('NOT_FOUND', message, { details: { wholeGraph: 'declined' } });
}

/** Whether an error is a replica's refusal of a whole-graph call (see `wholeGraphDeclined`). */
export function isWholeGraphDeclined(err: unknown): boolean {
  return err instanceof InferenceError && err.code === 'NOT_FOUND' && err.details?.['wholeGraph'] === 'declined';
}

const STATUSES: ReadonlySet<string> = new Set<NodeTiming['status']>(['ok', 'error', 'skipped', 'cancelled']);

/** The answer parameters for a run's timings and routes. */
export function encodeGraphAnswer(timings: readonly NodeTiming[], routes: Readonly<Record<string, string>>): Record<string, string> {
  return {
    [GRAPH_ANSWER_PARAM.nodes]: timings.map((t) => `${t.node}:${t.type}:${t.status}:${microseconds(t.startMs)}:${microseconds(t.durationMs)}`).join(';'),
    [GRAPH_ANSWER_PARAM.routes]: Object.entries(routes)
      .map(([router, route]) => `${router}=${route}`)
      .join(';'),
  };
}

/**
 * Milliseconds to the microsecond: a timing with all 17 digits of a double costs its formatting more than
 * the node report is worth, and no clock here is finer.
 */
function microseconds(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * The timings and routes of an answer's parameters; an answer that does not hold together is the
 * replica's fault (INTERNAL, naming `where`).
 */
export function decodeGraphAnswer(parameters: Readonly<Record<string, unknown>>, where: string): { timings: NodeTiming[]; routes: Record<string, string> } {
  const nodes = parameters[GRAPH_ANSWER_PARAM.nodes];
  const routeText = parameters[GRAPH_ANSWER_PARAM.routes];
  if (typeof nodes !== 'string' || typeof routeText !== 'string') {
    throw new InferenceError('INTERNAL', `${where} answered a whole-graph call without its node report`);
  }
  const timings: NodeTiming[] = [];
  for (const entry of nodes === '' ? [] : nodes.split(';')) {
    const [node, type, status, start, duration, extra] = entry.split(':');
    const startMs = Number(start);
    const durationMs = Number(duration);
    if (node === undefined || node === '' || type === undefined || status === undefined || !STATUSES.has(status) || extra !== undefined || !Number.isFinite(startMs) || !Number.isFinite(durationMs)) {
      throw new InferenceError('INTERNAL', `${where} answered a whole-graph call with a malformed node report entry "${entry.slice(0, 80)}"`);
    }
    timings.push({ node, type, status: status as NodeTiming['status'], startMs, durationMs });
  }
  const routes: Record<string, string> = {};
  for (const entry of routeText === '' ? [] : routeText.split(';')) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) throw new InferenceError('INTERNAL', `${where} answered a whole-graph call with a malformed route "${entry.slice(0, 80)}"`);
    routes[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { timings, routes };
}
