import { GraphInferenceService, GraphRegistry } from '@infergraph/engine';
import { decodeInferRequest, encodeInferResponse } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { EngineMetrics, StructuredLogger, logRequests } from '@infergraph/telemetry';
import * as ort from 'onnxruntime-node';
import { repoPath } from '../../test/support/repo';
import { inferJson, type V2Input } from '../servers/node-ort.server';

export interface RequestPathCost {
  /** CPU µs per request, best round: infergraph's decode → GraphInferenceService.infer → encode. */
  readonly infergraphUs: number;
  /** The hand-written server's JSON.parse → inferJson → JSON.stringify, the same model. */
  readonly handWrittenUs: number;
  /** The same infergraph path through bench/graphs/iris-four-node (transformer → router → model → transformer). */
  readonly fourNodeUs: number;
  readonly concurrency: number;
  readonly requests: number;
}

const BODY = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }));
const HEADERS = { host: '127.0.0.1', 'content-type': 'application/json' };

/** CPU µs per request of `requests` calls of `one`, `concurrency` chains at a time (this process only). */
async function cpuPerRequest(one: () => Promise<unknown>, concurrency: number, requests: number): Promise<number> {
  let left = requests;
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await one();
    }),
  );
  const used = process.cpuUsage(started);
  return (used.user + used.system) / requests;
}

/**
 * The request path without HTTP, in this process: what the gateway does per iris request between the body
 * and the response bytes (with its metrics and request-log listeners attached, as in the gateway), against
 * what the hand-written server does, `concurrency` requests in flight as under load. Rounds alternate, the
 * best round of each counts. HTTP costs the same on both sides (the servers' HTTP layers were measured at
 * parity), so this isolates the engine's own cost per request.
 */
export async function measureRequestPath(concurrency = 64, requests = 30_000, rounds = 3): Promise<RequestPathCost> {
  const loader = new OnnxModelLoader();
  const registry = new GraphRegistry(loader, { log() {}, warn() {}, error() {} });
  new EngineMetrics('bench').observe(registry.events);
  logRequests(registry.events, new StructuredLogger({ component: 'bench', format: 'json', level: 'info' }));
  await registry.loadDirectories([repoPath('bench', 'graphs', 'iris-model'), repoPath('bench', 'graphs', 'iris-four-node')]);
  const service = new GraphInferenceService(registry);
  const session = await ort.InferenceSession.create(repoPath('models', 'iris-logreg', '1', 'model.onnx'), { extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const throughGraph = (graph: string) => async (): Promise<Buffer> => {
    const request = decodeInferRequest(BODY, undefined);
    const response = await service.infer({ graph, version: undefined, request, requestId: undefined, headers: HEADERS });
    return encodeInferResponse(response, request.outputs, request.binaryOutput).body;
  };
  const infergraph = throughGraph('iris-model');
  const fourNode = throughGraph('iris-four-node');
  const handWritten = async (): Promise<Buffer> => Buffer.from(JSON.stringify(await inferJson(session, 'iris-logreg', JSON.parse(BODY.toString('utf8')) as { inputs: V2Input[] })));
  try {
    await cpuPerRequest(infergraph, concurrency, requests / 3);
    await cpuPerRequest(handWritten, concurrency, requests / 3);
    await cpuPerRequest(fourNode, concurrency, requests / 3);
    let infergraphUs = Infinity;
    let handWrittenUs = Infinity;
    let fourNodeUs = Infinity;
    for (let r = 0; r < rounds; r++) {
      infergraphUs = Math.min(infergraphUs, await cpuPerRequest(infergraph, concurrency, requests));
      handWrittenUs = Math.min(handWrittenUs, await cpuPerRequest(handWritten, concurrency, requests));
      fourNodeUs = Math.min(fourNodeUs, await cpuPerRequest(fourNode, concurrency, requests));
    }
    return { infergraphUs, handWrittenUs, fourNodeUs, concurrency, requests };
  } finally {
    await Promise.all([registry.close(), session.release(), loader.close()]);
  }
}
