// Worker thread that holds onnxruntime sessions for a ModelThreads pool (model-threads.ts). Creating a
// session and running one are synchronous in onnxruntime-node; here they block this thread only, never the
// event loop that serves requests and sends heartbeats; an open runs at low priority where the process may
// restore it (lowerPriorityWhile). Requests come in arrays: runs are answered together
// in one message; opens and releases each on their own, after the runs that came with them.
import { parentPort, threadId, type TransferListItem } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { TensorData } from '@infergraph/protocol';
import { lowerPriorityWhile } from '@infergraph/threads';
import { createOrtSession } from './onnx-session.factory';
import type { OrtSessionHandle } from './ort-session.handle';
import type { ThreadReply, ThreadRequest } from './model-thread.protocol';

const sessions = new Map<number, OrtSessionHandle>();

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function run(request: Extract<ThreadRequest, { op: 'run' }>, transfer: TransferListItem[]): Promise<ThreadReply> {
  const session = sessions.get(request.session);
  if (session === undefined) return { id: request.id, error: `model session ${request.session} is not open in model thread ${threadId}` };
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, type, data, shape] of request.feeds) {
      feeds[name] = new ort.Tensor(type as ort.Tensor.Type, data, shape);
    }
    // The runs of one message run back to back: synchronously where the session allows it.
    const results = session.runNow === undefined ? await session.run(feeds) : session.runNow(feeds);
    const outputs: [string, TensorData, readonly number[]][] = [];
    for (const name of session.outputNames) {
      const value = results[name];
      if (value === undefined) continue;
      const data = value.data as TensorData;
      // A buffer the tensor owns whole moves to the caller instead of being copied.
      if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.byteLength > 0) {
        transfer.push(data.buffer);
      }
      outputs.push([name, data, value.dims]);
    }
    return { id: request.id, outputs };
  } catch (err) {
    return { id: request.id, error: messageOf(err) };
  }
}

async function open(request: Extract<ThreadRequest, { op: 'open' }>): Promise<ThreadReply> {
  try {
    // At low priority where it can be restored: the serving threads (the event loop, the other model threads)
    // keep the cores while this one opens; onnxruntime's intra-op threads started by the open are restored too.
    const created = await lowerPriorityWhile(() => createOrtSession(request.bytes, { intraOpThreads: request.intraOpThreads }, request.preferGpu));
    sessions.set(request.session, created.session);
    const { inputs, outputs, provider, providerNote } = created;
    return { id: request.id, opened: { inputs, outputs, provider, providerNote, threadId } };
  } catch (err) {
    return { id: request.id, error: messageOf(err) };
  }
}

async function release(request: Extract<ThreadRequest, { op: 'release' }>): Promise<ThreadReply> {
  const session = sessions.get(request.session);
  sessions.delete(request.session);
  try {
    await session?.release();
    return { id: request.id };
  } catch (err) {
    return { id: request.id, error: messageOf(err) };
  }
}

async function answer(requests: readonly ThreadRequest[]): Promise<void> {
  const transfer: TransferListItem[] = [];
  const runs = await Promise.all(requests.filter((r) => r.op === 'run').map((r) => run(r, transfer)));
  if (runs.length > 0) parentPort?.postMessage(runs, transfer);
  for (const request of requests) {
    if (request.op === 'open') parentPort?.postMessage([await open(request)]);
    else if (request.op === 'release') parentPort?.postMessage([await release(request)]);
  }
}

// One batch at a time, in order: a release never overtakes the runs posted before it.
let turn: Promise<void> = Promise.resolve();
parentPort?.on('message', (requests: readonly ThreadRequest[]) => {
  turn = turn
    .then(() => answer(requests))
    // An answer that could not be posted (a value structured clone refuses): every caller of the batch hears why;
    // ids already answered are ignored by the pool.
    .catch((err: unknown) => parentPort?.postMessage(requests.map((r): ThreadReply => ({ id: r.id, error: `model thread ${threadId}: ${messageOf(err)}` }))));
});
