import { createRequestContext, type NodeInvocation } from '@infergraph/executor';
import { DynamicBatcher, type BatchingConfig } from '@infergraph/nodes';
import type { Tensor, TensorMap } from '@infergraph/protocol';
import { GrpcNodeTransport } from '@infergraph/transport-grpc';
import { percentile } from './percentile';
import { cpuSeconds, type ProcessGroup } from './process-group';
import { cpuProfileArgs, startWorkerProcess } from './servers.launcher';

/** One way of sending the calls: throughput, latency and CPU of this process (the caller) and the worker. */
export interface CoalescingRun {
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU ms per request of the calling process and the worker together. */
  readonly cpuMsPerRequest: number;
  /** Node calls (stream messages) per request. */
  readonly messagesPerRequest: number;
}

export interface CoalescingCost {
  /** Each request its own stream message; the worker's batcher fills from the messages (what ships). */
  readonly perRequest: CoalescingRun;
  /** The caller stacks requests (the node's own batching config) and sends each batch as one message. */
  readonly coalesced: CoalescingRun;
  readonly concurrency: number;
}

const GRAPH = 'digits-model-batched';
const NODE = 'classifier';
// bench/graphs/digits-model-batched: the node's batching block, used for the caller's batcher too.
const BATCHING: BatchingConfig = { maxBatchSize: 64, maxQueueDelayMicros: 2000, preferredBatchSizes: [16, 32, 64], maxQueueSize: 1024 };
const ROW = Float32Array.from({ length: 64 }, (_, i) => (i * 7) % 17);

/**
 * Item 3 of issue 15, measured on the mechanism: `concurrency` one-row digits requests at a time for
 * `durationS` against a worker serving the batched digits node, through the gateway's GrpcNodeTransport,
 * either one stream message per request (the worker's batcher stacks them) or stacked first in the caller by
 * a DynamicBatcher with the node's config, one message per batch. No HTTP: what differs is the hop.
 */
export async function measureGrpcCoalescing(group: ProcessGroup, concurrency = 64, durationS = 5, cpuProfileDir?: string): Promise<CoalescingCost> {
  const worker = await startWorkerProcess(group, { GRAPHS_DIR: `bench/graphs/${GRAPH}` }, cpuProfileArgs(cpuProfileDir, 'grpc-coalescing.worker'));
  const transport = new GrpcNodeTransport([worker.address]);
  let messages = 0;
  const call = (inputs: TensorMap): Promise<TensorMap> => {
    messages++;
    const ctx = createRequestContext({ graph: GRAPH, timeoutMs: 10_000, signal: new AbortController().signal });
    const invocation: NodeInvocation = { graph: GRAPH, node: NODE, inputs, ctx };
    return transport.invoke(invocation);
  };
  const batcher = new DynamicBatcher(GRAPH, NODE, BATCHING, call);
  const input = (): TensorMap => new Map<string, Tensor>([['input', { name: 'input', datatype: 'FP32', shape: [1, 64], data: ROW }]]);
  const perRequest = (): Promise<TensorMap> => call(input());
  const coalesced = (): Promise<TensorMap> => batcher.submit(input());

  const run = async (one: () => Promise<TensorMap>, seconds: number): Promise<CoalescingRun> => {
    const latencies: number[] = [];
    messages = 0;
    const cpuBefore = process.cpuUsage();
    const workerBefore = cpuSeconds(worker.process.child.pid);
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          await one();
          latencies.push(performance.now() - t);
        }
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const own = process.cpuUsage(cpuBefore);
    const cpuS = (own.user + own.system) / 1e6 + (cpuSeconds(worker.process.child.pid) - workerBefore);
    latencies.sort((a, b) => a - b);
    return {
      requestsPerS: latencies.length / elapsedS,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMsPerRequest: (cpuS * 1000) / latencies.length,
      messagesPerRequest: messages / latencies.length,
    };
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await perRequest();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    // Warm both ways, then alternate: per request, coalesced, per request, coalesced; the better of each.
    await run(perRequest, 1);
    await run(coalesced, 1);
    const best = (a: CoalescingRun, b: CoalescingRun): CoalescingRun => (a.cpuMsPerRequest <= b.cpuMsPerRequest ? a : b);
    const a1 = await run(perRequest, durationS / 2);
    const b1 = await run(coalesced, durationS / 2);
    const a2 = await run(perRequest, durationS / 2);
    const b2 = await run(coalesced, durationS / 2);
    return { perRequest: best(a1, a2), coalesced: best(b1, b2), concurrency };
  } finally {
    transport.close();
    await group.stop(worker.process.child);
  }
}
