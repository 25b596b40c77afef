// Background thread that reads model signatures for onnx-signature.thread.ts: walking an ONNX file's structure
// costs a few milliseconds per model (more the first times, while V8 compiles the walker), and a graph of ten
// models would take them from the event loop of a gateway serving other graphs. Runs at background priority.
import { parentPort } from 'node:worker_threads';
import { runAtBackgroundPriority } from '@infergraph/threads';
import { readOnnxSignatureFile } from './onnx-signature.reader';

interface Request {
  readonly id: number;
  readonly path: string;
}

runAtBackgroundPriority();

parentPort?.on('message', (request: Request) => {
  readOnnxSignatureFile(request.path).then(
    (signature) => parentPort?.postMessage({ id: request.id, signature }),
    (err: unknown) => parentPort?.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
