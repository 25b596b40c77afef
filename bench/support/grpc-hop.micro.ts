import path from 'node:path';
import { createRequestContext, InProcessTransport, type NodeInvocation, type NodeTransport } from '@infergraph/executor';
import { loadGraphFile } from '@infergraph/engine';
import { credentials, type Client } from '@grpc/grpc-js';
import { encodeNodeCall, type ModelInferRequestMessage, type Tensor } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GrpcNodeTransport, v2GrpcService } from '@infergraph/transport-grpc';
import { repoPath } from '../../test/support/repo';
import { percentile } from './percentile';
import type { ProcessGroup } from './process-group';
import { cpuProfileArgs, startWorkerProcess } from './servers.launcher';

export interface HopLatency {
  readonly inProcessP50Ms: number;
  readonly inProcessP99Ms: number;
  readonly grpcP50Ms: number;
  readonly grpcP99Ms: number;
  /** gRPC p50 − in-process p50: what moving the node to a worker adds to one call. */
  readonly hopP50Ms: number;
  /** The same client against a bare grpc-js server that answers without inference: gRPC's own floor. */
  readonly bareGrpcP50Ms: number;
  readonly bareGrpcP99Ms: number;
  /** A plain grpc-js unary ModelInfer to the same bare server (what node calls were before streams). */
  readonly bareUnaryP50Ms: number;
  readonly bareUnaryP99Ms: number;
  /** The same bare server answering one event-loop turn later (setImmediate), as asynchronous work does. */
  readonly deferredGrpcP50Ms: number;
  readonly deferredGrpcP99Ms: number;
  readonly calls: number;
}

const GRAPH = 'iris-model';

type UnaryCall = (message: ModelInferRequestMessage, options: { deadline: number }, callback: (err: Error | null) => void) => void;

/** Unary ModelInfer calls one at a time through a bare grpc-js client, the message encoded once. */
async function timeUnary(client: Client, inputs: Iterable<Tensor>, calls: number, into: number[] | undefined): Promise<void> {
  const modelInfer = (client as unknown as { ModelInfer: UnaryCall }).ModelInfer.bind(client);
  const message = encodeNodeCall(`${GRAPH}.classifier`, 'hop', {}, inputs);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => modelInfer(message, { deadline: Date.now() + 10_000 }, (err) => (err === null ? resolve() : reject(err))));
    into?.push(performance.now() - started);
  }
}

async function timeCalls(transport: NodeTransport, call: Omit<NodeInvocation, 'ctx'>, calls: number, into: number[] | undefined): Promise<void> {
  const signal = new AbortController().signal;
  for (let i = 0; i < calls; i++) {
    const ctx = createRequestContext({ graph: GRAPH, timeoutMs: 10_000, signal });
    const started = performance.now();
    await transport.invoke({ ...call, ctx });
    into?.push(performance.now() - started);
  }
}

/**
 * One node call (the iris classifier of bench/graphs/iris-model) at concurrency 1: in this process, and
 * through GrpcNodeTransport, the gateway's client, to a worker process on loopback (encode, V2
 * ModelInfer over HTTP/2, worker-side decode, inference, encode, client decode); and, as floors, through
 * the same client to a bare grpc-js server that answers without inference, at once and one event-loop turn
 * later. Rounds alternate.
 */
export async function measureGrpcHop(group: ProcessGroup, cpuProfileDir?: string, rounds = 5, callsPerRound = 1000): Promise<HopLatency> {
  const loader = new OnnxModelLoader();
  const graph = await loadGraphFile(repoPath('bench', 'graphs', GRAPH, `${GRAPH}.yaml`), loader);
  const worker = await startWorkerProcess(group, { GRAPHS_DIR: 'bench/graphs/iris-model' }, cpuProfileArgs(cpuProfileDir, 'grpc-hop.worker'));
  const echoScript = path.resolve(__dirname, '..', 'servers', 'grpc-echo.server.js');
  const echo = group.spawn('grpc echo server', process.execPath, [echoScript]);
  const deferredEcho = group.spawn('grpc echo server (deferred)', process.execPath, [echoScript, '--defer']);
  const local = new InProcessTransport(graph.runtimes);
  const remote = new GrpcNodeTransport([worker.address]);
  const echoAddress = (await echo.waitFor(/listening on grpc:\/\/(\S+)/, 30_000))[1] ?? '';
  const bare = new GrpcNodeTransport([echoAddress]);
  const deferred = new GrpcNodeTransport([(await deferredEcho.waitFor(/listening on grpc:\/\/(\S+)/, 30_000))[1] ?? '']);
  const Service = v2GrpcService();
  const unary = new Service(echoAddress, credentials.createInsecure());
  try {
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) };
    const call = { graph: GRAPH, node: 'classifier', inputs: new Map([['input', input]]) };
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await timeCalls(remote, call, 1, undefined);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await timeCalls(local, call, callsPerRound, undefined);
    await timeCalls(remote, call, callsPerRound, undefined);
    await timeCalls(bare, call, callsPerRound, undefined);
    await timeCalls(deferred, call, callsPerRound, undefined);
    await timeUnary(unary, call.inputs.values(), callsPerRound, undefined);
    const unaryFloor: number[] = [];
    const inProcess: number[] = [];
    const grpc: number[] = [];
    const floor: number[] = [];
    const deferredFloor: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await timeCalls(local, call, callsPerRound, inProcess);
      await timeCalls(remote, call, callsPerRound, grpc);
      await timeCalls(bare, call, callsPerRound, floor);
      await timeCalls(deferred, call, callsPerRound, deferredFloor);
      await timeUnary(unary, call.inputs.values(), callsPerRound, unaryFloor);
    }
    for (const a of [inProcess, grpc, floor, deferredFloor, unaryFloor]) a.sort((x, y) => x - y);
    const [ip50, g50] = [percentile(inProcess, 50), percentile(grpc, 50)];
    return {
      inProcessP50Ms: ip50,
      inProcessP99Ms: percentile(inProcess, 99),
      grpcP50Ms: g50,
      grpcP99Ms: percentile(grpc, 99),
      hopP50Ms: g50 - ip50,
      bareGrpcP50Ms: percentile(floor, 50),
      bareGrpcP99Ms: percentile(floor, 99),
      bareUnaryP50Ms: percentile(unaryFloor, 50),
      bareUnaryP99Ms: percentile(unaryFloor, 99),
      deferredGrpcP50Ms: percentile(deferredFloor, 50),
      deferredGrpcP99Ms: percentile(deferredFloor, 99),
      calls: grpc.length,
    };
  } finally {
    remote.close();
    bare.close();
    deferred.close();
    unary.close();
    await Promise.all([group.stop(worker.process.child), group.stop(echo.child), group.stop(deferredEcho.child), graph.close(), loader.close()]);
  }
}
