// The baseline a user would write instead of infergraph: node:http + onnxruntime-node, one model, the V2
// JSON contract (POST /v2/models/<name>/infer with {inputs: [{name, shape, datatype, data}]}, answered with
// {model_name, outputs: [{name, shape, datatype, data}]}). Deliberately minimal: no validation beyond what
// JSON.parse and onnxruntime do, no logging, no metrics.
//   node dist/bench/servers/node-ort.server.js <model.onnx> <model name> [port] [--no-spin]
// --no-spin: the one-line tuning a careful user adds, onnxruntime's idle intra-op threads block instead of
// spinning (on a machine whose cores the event loop and the load share, spinning threads take them).
// Prints "listening on http://127.0.0.1:<port>" once it accepts requests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as ort from 'onnxruntime-node';

export interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

const ORT_TYPE: Record<string, ort.Tensor.Type> = { FP32: 'float32', FP64: 'float64', INT32: 'int32', INT64: 'int64' };
const V2_TYPE: Record<string, string> = { float32: 'FP32', float64: 'FP64', int32: 'INT32', int64: 'INT64' };

function toTensor(input: V2Input): ort.Tensor {
  const type = ORT_TYPE[input.datatype] ?? 'float32';
  const data = type === 'int64' ? BigInt64Array.from(input.data, (v) => BigInt(v)) : type === 'float32' ? Float32Array.from(input.data) : Float64Array.from(input.data);
  return new ort.Tensor(type, data, input.shape);
}

/** The whole inference step of this server, from parsed request to response body (also timed in-process by the bench). */
export async function inferJson(session: ort.InferenceSession, modelName: string, request: { inputs: V2Input[] }): Promise<unknown> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of request.inputs) feeds[input.name] = toTensor(input);
  const results = await session.run(feeds);
  const outputs = Object.entries(results).map(([name, t]) => ({
    name,
    shape: t.dims,
    datatype: V2_TYPE[t.type] ?? t.type,
    data: t.type === 'int64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.data as Float32Array),
  }));
  return { model_name: modelName, outputs };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const noSpin = args.includes('--no-spin');
  const [modelPath, modelName, port] = args.filter((a) => a !== '--no-spin');
  if (modelPath === undefined || modelName === undefined) throw new Error('usage: node-ort.server.js <model.onnx> <model name> [port] [--no-spin]');
  const session = await ort.InferenceSession.create(modelPath, noSpin ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {});
  const inferPath = `/v2/models/${modelName}/infer`;

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v2/health/ready') return send(res, 200, { ready: true });
    if (req.method !== 'POST' || req.url !== inferPath) return send(res, 404, { error: `no route ${req.method ?? ''} ${req.url ?? ''}` });
    readBody(req)
      .then(async (text) => {
        let request: { inputs: V2Input[] };
        try {
          request = JSON.parse(text) as { inputs: V2Input[] };
        } catch (err) {
          return send(res, 400, { error: `invalid JSON: ${(err as Error).message}` });
        }
        send(res, 200, await inferJson(session, modelName, request));
      })
      .catch((err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port ?? 0), '127.0.0.1', () => {
    const address = server.address();
    console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`);
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
