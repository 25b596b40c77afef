import { z } from 'zod';
import type { HeldReplica, WorkerHello } from '@infergraph/cluster';
import type { WorkerMessage } from '@infergraph/protocol';
import { nodeKey } from '@infergraph/spec';

// Control messages come from other processes: each is checked here, at the edge, so a malformed one is
// refused with a reason and never reaches the cluster state (or crashes the controller).

/** A capacity figure: a number (double fields) or a decimal string (int64 fields), finite and not negative. */
const quantity = z.unknown().transform((v, ctx) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `must be a finite number >= 0, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}` });
    return z.NEVER;
  }
  return n;
});

const replicaState = z.object({
  key: nodeKey,
  replica: z.number().int().min(0).max(10_000),
  state: z.enum(['LOADING', 'READY', 'FAILED']),
  reason: z.string().max(4096).default(''),
  provider: z.string().max(64).default(''),
});

const helloSchema = z.object({
  worker_id: z.string().min(1).max(253),
  pool: z.string().min(1).max(63),
  address: z.string().regex(/^[^\s]+:\d{1,5}$/, 'must be host:port'),
  capacity: z.object({
    cpu: quantity.refine((n) => n > 0, 'must be above 0'),
    memory: quantity,
    gpu_count: quantity,
    gpu_memory: quantity,
  }),
  held: z.array(replicaState).max(10_000).default([]),
  graphs: z.array(z.object({ name: z.string(), file: z.string(), content_hash: z.string() })).max(10_000).default([]),
  incarnation: z.string().max(128).default(''),
  draining: z.boolean().default(false),
});

/** A checked worker message, or why it was refused (naming the field). */
export type CheckedWorkerMessage =
  | { readonly kind: 'hello'; readonly hello: WorkerHello }
  | { readonly kind: 'heartbeat'; readonly loads: ReadonlyMap<string, number> }
  | { readonly kind: 'replica'; readonly replica: HeldReplica }
  | { readonly kind: 'drain' }
  | { readonly kind: 'invalid'; readonly problem: string };

export function checkWorkerMessage(m: WorkerMessage): CheckedWorkerMessage {
  if (m.hello) {
    const parsed = helloSchema.safeParse(m.hello);
    if (!parsed.success) return { kind: 'invalid', problem: `hello: ${describe(parsed.error)}` };
    const h = parsed.data;
    return {
      kind: 'hello',
      hello: {
        id: h.worker_id,
        pool: h.pool,
        address: h.address,
        capacity: { cpu: h.capacity.cpu, memory: h.capacity.memory, gpuCount: h.capacity.gpu_count, gpuMemory: h.capacity.gpu_memory },
        held: h.held,
        loadedGraphs: Object.fromEntries(h.graphs.map((g) => [g.name, g.content_hash])),
        draining: h.draining,
      },
    };
  }
  if (m.heartbeat) {
    const loads = new Map<string, number>();
    for (const l of m.heartbeat.loads ?? []) if (typeof l.key === 'string' && Number.isFinite(l.in_flight)) loads.set(l.key, Math.max(0, l.in_flight));
    return { kind: 'heartbeat', loads };
  }
  if (m.replica) {
    const parsed = replicaState.safeParse(m.replica);
    if (!parsed.success) return { kind: 'invalid', problem: `replica: ${describe(parsed.error)}` };
    return { kind: 'replica', replica: parsed.data };
  }
  if (m.drain) return { kind: 'drain' };
  return { kind: 'invalid', problem: 'empty message (expected hello, heartbeat, replica or drain)' };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
    .join('; ');
}
