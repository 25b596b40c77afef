import { z } from 'zod';

/**
 * The messages between a gateway and its serving processes (SERVING_PROCESSES), over the IPC channel
 * node:child_process opens with each. Both sides parse every message they get: a message that does not
 * parse is logged and dropped, never acted on.
 */

/** One version of a graph the serving processes may answer: its file, and the sha256 of the bytes loaded. */
const servedVersionSchema = z.strictObject({ version: z.string().min(1).max(256), hash: z.string().regex(/^[0-9a-f]{64}$/), file: z.string().min(1).max(4096) });

/**
 * A graph whose requests the serving processes answer themselves (the rest they pass to the gateway): every
 * version the gateway serves, and the one its unversioned path serves now.
 */
const servedGraphSchema = z.strictObject({ name: z.string().min(1).max(256), defaultVersion: z.string().min(1).max(256), versions: z.array(servedVersionSchema).min(1).max(1000) });
export type ServedGraph = z.infer<typeof servedGraphSchema>;

const toServingSchema = z.discriminatedUnion('kind', [
  /** A client connection: the message's handle is its socket, not yet read from. */
  z.strictObject({ kind: z.literal('socket') }),
  /** The graphs the serving processes may answer, whole (each message replaces the last). */
  z.strictObject({ kind: z.literal('graphs'), graphs: z.array(servedGraphSchema).max(10_000) }),
  /** Asks for the process's metrics (answered with `metrics` and the same id). */
  z.strictObject({ kind: z.literal('scrape'), id: z.number().int().nonnegative() }),
  /** Finish the requests in flight, close every connection as its answer goes, then exit. */
  z.strictObject({ kind: z.literal('stop') }),
]);
export type ToServing = z.infer<typeof toServingSchema>;

const toGatewaySchema = z.discriminatedUnion('kind', [
  /** Graphs loaded, server up: connections may come. */
  z.strictObject({ kind: z.literal('ready') }),
  /** prom-client's JSON of the process's registry (ProcessMetrics.json). */
  z.strictObject({ kind: z.literal('metrics'), id: z.number().int().nonnegative(), series: z.array(z.looseObject({ name: z.string(), type: z.string() })) }),
]);
export type ToGateway = z.infer<typeof toGatewaySchema>;

/** The message, or why it was refused (in one line, fit for a log). */
export function parseToServing(message: unknown): ToServing | { problem: string } {
  return parsed(toServingSchema.safeParse(message));
}

export function parseToGateway(message: unknown): ToGateway | { problem: string } {
  return parsed(toGatewaySchema.safeParse(message));
}

function parsed<T>(result: z.ZodSafeParseResult<T>): T | { problem: string } {
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  return { problem: issue === undefined ? 'not a message' : `${issue.path.join('.') || 'message'}: ${issue.message}` };
}
