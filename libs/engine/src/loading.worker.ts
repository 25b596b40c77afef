// The loading thread (loading.thread.ts): the heavy part of loading graphs, kept off event loops that serve
// requests. Runs at background priority, so on a busy machine serving gets the cores first.
// - `parse`: a graph document's YAML parse and checks (about 6 ms for a ten-node graph, far more on a busy
//   machine). Warms the parser up first (a parse per turn, so documents that arrive meanwhile are not held
//   back for long). Replies with the clean parse, or none when the document has problems (the caller then
//   parses it itself, for located diagnostics).
// - `model-file`: reads a model file whole and hashes it; the bytes go back moved, not copied. A file that
//   cannot be read is answered with `failed` and the file system's reason.
// - `posted-graph`: a document posted to the controller, screened and rewritten (preparePostedGraph).
// - `transpile`: a TypeScript module's source, handed to the compiler's process (typescript-transpile.process.ts),
//   which this thread starts on first use: forked from here, it inherits this thread's background priority.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort, type TransferListItem } from 'node:worker_threads';
import { cleanGraphParseOf, preparePostedGraph, warmUpGraphParser } from '@infergraph/spec';
import { BackgroundProcess, runAtBackgroundPriority } from '@infergraph/threads';

type Request = { readonly id: number } & (
  | { readonly kind: 'parse'; readonly text: string; readonly file: string }
  | { readonly kind: 'model-file'; readonly file: string }
  | { readonly kind: 'posted-graph'; readonly bytes: Uint8Array; readonly baseDir: string }
  | { readonly kind: 'transpile'; readonly file: string; readonly source: string }
);

runAtBackgroundPriority();
void warmUpGraphParser().catch(() => undefined);

/** The TypeScript compiler's process, started on first use; stops after 30 s without work. */
const compiler = new BackgroundProcess<string>({
  file: path.join(__dirname, 'typescript-transpile.process.js'),
  what: 'the TypeScript compiler process',
  missingHint: ', or compile the module to .js',
  resultOf: (reply) => reply['js'] as string,
  idleStopMs: 30_000,
});

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function modelFile(id: number, file: string): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    parentPort?.postMessage({ id, failed: messageOf(err) });
    return;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // A file read whole has a buffer of its own (moved); a small one may sit in a shared pool (copied out).
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const view = own ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
  const transfer: TransferListItem[] = view.byteLength > 0 ? [view.buffer as ArrayBuffer] : [];
  parentPort?.postMessage({ id, bytes: view, sha256 }, transfer);
}

parentPort?.on('message', (request: Request) => {
  try {
    if (request.kind === 'model-file') modelFile(request.id, request.file);
    else if (request.kind === 'transpile') {
      const id = request.id;
      compiler.call({ file: request.file, source: request.source }).then(
        (js) => parentPort?.postMessage({ id, js }),
        (err: unknown) => parentPort?.postMessage({ id, error: messageOf(err) }),
      );
    }
    else if (request.kind === 'posted-graph') parentPort?.postMessage({ id: request.id, posted: preparePostedGraph(request.bytes, request.baseDir) });
    else parentPort?.postMessage({ id: request.id, clean: cleanGraphParseOf(request.text, request.file) });
  } catch (err) {
    parentPort?.postMessage({ id: request.id, error: messageOf(err) });
  }
});
