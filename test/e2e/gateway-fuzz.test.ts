import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { encodeInferRequestProto, encodeNodeCall, type ModelInferRequestMessage } from '@infergraph/protocol';
import { fuzzParameters } from '../support/fuzz';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';
import { V2GrpcClient } from '../support/grpc-client';
import { encodeRestRequest, encodedRequestArb, mutatedBytesArb, requestMessageArb, requestObjectArb, tensorArb } from '../support/request-arbitraries';

// End to end: the real gateway process (the repository's graphs, real onnxruntime sessions), real HTTP and
// gRPC over loopback, fed a bounded number of fast-check-generated malformed requests: request-shaped JSON
// with wrong fields, binary tensor data with lying sizes, mutated valid bodies, and ModelInfer messages as
// proto-loader objects and as arbitrary protobuf bytes. Every answer must be a success or the caller's
// fault (4xx, gRPC INVALID_ARGUMENT / NOT_FOUND...), never a server fault; the process stays up and serves.

const GRAPHS = ['iris', 'iris-conditional', 'iris-ab', 'iris-ensemble', 'iris-custom', 'breast-cancer', 'no-such-graph'] as const;
const GOOD_ROW = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] };
const encoder = new TextEncoder();

/** An iris-like request that gets past decoding: the right name and datatype, rows of odd values, odd row counts. */
const irisLikeArb = fc
  .record({
    rows: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.constantFrom(2 ** 31, 2 ** 40)),
    columns: fc.constantFrom(4, 4, 4, 0, 3, 5),
    value: fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 3.4e38, -3.5e38, 1e-45)),
    parameters: fc.record({ model: fc.constantFrom('forest', 'mlp', 'logreg', 7), user: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
  })
  .map(({ rows, columns, value, parameters }) => {
    const count = rows * columns <= 16 ? rows * columns : 4;
    return { parameters, inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, columns], data: new Array<unknown>(count).fill(value) }] };
  });

/** One REST request: a route, a body, and the headers (binary bodies carry Inference-Header-Content-Length). */
interface RestCase {
  readonly graph: string;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
}

const graphArb = fc.constantFrom(...GRAPHS);
const headersArb = fc.record({ 'x-beta': fc.constantFrom('true', 'false') }, { requiredKeys: [] });

const restCaseArb: fc.Arbitrary<RestCase> = fc.oneof(
  fc.record({ graph: graphArb, request: fc.oneof(requestObjectArb, irisLikeArb), headers: headersArb }).map(({ graph, request: r, headers }) => ({ graph, body: encoder.encode(JSON.stringify(r)), headers })),
  fc
    .record({ graph: graphArb, request: requestObjectArb, tail: fc.uint8Array({ maxLength: 64 }), skew: fc.integer({ min: -2, max: 2 }) })
    .map(({ graph, request: r, tail, skew }) => {
      const json = encoder.encode(JSON.stringify(r));
      return { graph, body: Buffer.concat([json, tail]), headers: { 'inference-header-content-length': String(json.byteLength + skew) } };
    }),
  fc.record({ graph: graphArb, encoded: encodedRequestArb }).chain(({ graph, encoded }) =>
    mutatedBytesArb(encoded.body).map((body): RestCase => ({ graph, body, headers: encoded.jsonLength === undefined ? {} : { 'inference-header-content-length': String(encoded.jsonLength) } })),
  ),
  fc.record({ graph: graphArb, bytes: fc.uint8Array({ minLength: 1, maxLength: 128 }) }).map(({ graph, bytes }) => ({ graph, body: bytes, headers: {} })),
);

/** What the caller may be told: success, or its own fault. Overload (503) cannot happen: one request at a time. */
function assertCallersFault(res: HttpResult, what: string): void {
  assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${what} -> ${res.status}: ${res.raw.toString().slice(0, 300)}`);
  if (res.status !== 200) assert.equal(typeof (res.body as { error?: unknown } | undefined)?.error, 'string', `${what} -> ${res.status} without a JSON error`);
}

/** gRPC codes of the caller's fault (or success); INTERNAL and UNKNOWN are the server's. */
const CALLERS_CODES: ReadonlySet<number> = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.RESOURCE_EXHAUSTED, status.FAILED_PRECONDITION]);

/** A ModelInfer call with raw bytes as the request message (no client-side protobuf encoding). */
function rawModelInfer(client: Client, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null) => resolve(err === null ? status.OK : err.code),
    );
  });
}

/** A valid ModelInfer for iris (the base of the mutated ones): one row, raw contents. */
const irisCallArb = fc.array(fc.float({ noNaN: true }), { minLength: 4, maxLength: 4 }).map((row) =>
  encodeInferRequestProto({ ...encodeNodeCall('iris', '', {}, [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Float32Array.from(row) }]), model_name: 'iris' }),
);

describe('gateway fuzzing: malformed requests over REST and gRPC are never server faults', () => {
  let gw: RunningGateway;
  let grpc: V2GrpcClient;
  let raw: Client;

  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '' });
    grpc = new V2GrpcClient(gw.grpcAddress);
    raw = new Client(gw.grpcAddress, credentials.createInsecure());
  });
  after(async () => {
    grpc?.close();
    raw?.close();
    await gw?.stop();
  });

  async function assertStillServing(): Promise<void> {
    assert.equal(gw.process.exitCode, null, `the gateway exited:\n${gw.output().slice(-3000)}`);
    const res = await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [GOOD_ROW] });
    assert.equal(res.status, 200, res.raw.toString());
    const answer = await grpc.call<{ outputs: unknown[] }>('ModelInfer', {
      model_name: 'iris',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: GOOD_ROW.data } }],
    });
    assert.ok(answer.outputs.length > 0);
  }

  it('answers malformed REST bodies (JSON, binary, mutated, arbitrary bytes) with 200 or 4xx, then still serves', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(restCaseArb, async ({ graph, body, headers }) => {
        const res = await request(gw, 'POST', `/v2/models/${graph}/infer`, Buffer.from(body), headers);
        assertCallersFault(res, `POST /v2/models/${graph}/infer ${Buffer.from(body).toString('utf8', 0, 200)}`);
        if (res.status !== 200) refused++;
      }),
      fuzzParameters(300),
    );
    assert.ok(refused > 0, 'no request was refused: the fuzzer is not generating malformed requests');
    await assertStillServing();
  });

  it('answers malformed ModelInfer messages (proto-loader objects and raw protobuf bytes) without INTERNAL, then still serves', async () => {
    const callArb = fc.oneof(
      fc.record({ message: requestMessageArb, graph: graphArb }).map(({ message, graph }): { message: ModelInferRequestMessage } => ({ message: { ...message, model_name: graph } })),
      fc.record({ message: fc.record({ tensors: fc.uniqueArray(tensorArb, { minLength: 1, maxLength: 2, selector: (t) => t.name }), graph: graphArb }) }).map(({ message }) => ({
        message: { ...encodeNodeCall(message.graph, '', {}, message.tensors), model_name: message.graph },
      })),
      fc.oneof(fc.uint8Array({ maxLength: 128 }), irisCallArb.chain(mutatedBytesArb)).map((bytes) => ({ bytes })),
    );
    await fc.assert(
      fc.asyncProperty(callArb, async (call) => {
        let code: number;
        let what: string;
        if ('bytes' in call) {
          code = await rawModelInfer(raw, call.bytes);
          what = `raw ModelInfer ${Buffer.from(call.bytes).toString('hex').slice(0, 200)}`;
        } else {
          code = await grpc.call('ModelInfer', call.message).then(
            () => status.OK,
            (err: ServiceError) => err.code,
          );
          what = `ModelInfer ${JSON.stringify(call.message, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)).slice(0, 300)}`;
        }
        assert.ok(CALLERS_CODES.has(code), `${what} -> gRPC status ${code} (${status[code] ?? '?'})`);
      }),
      fuzzParameters(300),
    );
    await assertStillServing();
  });

  it('answers a binary request whose declared shape is far beyond its data with a 400 at once', async () => {
    const { body } = encodeRestRequest([{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }], true);
    const text = Buffer.from(body).toString('latin1').replace('[1,4]', `[${2 ** 40},4]`);
    const jsonLength = text.indexOf('}]}') + 3;
    const res = await request(gw, 'POST', '/v2/models/iris/infer', Buffer.from(text, 'latin1'), { 'inference-header-content-length': String(jsonLength) });
    assert.equal(res.status, 400, res.raw.toString());
    assert.match((res.body as { error: string }).error, /binary_data_size 16 does not match shape/);
    await assertStillServing();
  });
});
