import path from 'node:path';
import { BackgroundThread } from '@infergraph/threads';
import { readOnnxSignatureFile, type OnnxSignature } from './onnx-signature.reader';

/** One background thread per process reads the signatures of models that run elsewhere (a gateway typing a graph). */
const reader = new BackgroundThread<OnnxSignature>({
  file: path.join(__dirname, 'onnx-signature.worker.js'),
  what: 'the model signature thread',
  missingHint: '',
  resultOf: (reply) => reply['signature'] as OnnxSignature,
  idleStopMs: 30_000,
});

/**
 * readOnnxSignatureFile, run in the background thread so the walk never takes the event loop. Where the
 * thread cannot answer (or the file is bad) the file is read here, so the error is the reader's own.
 */
export async function readOnnxSignatureFileOffLoop(file: string): Promise<OnnxSignature> {
  try {
    return await reader.call({ path: file });
  } catch {
    return readOnnxSignatureFile(file);
  }
}
