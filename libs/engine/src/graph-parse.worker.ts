// Background thread that parses graph documents for graph-parse.thread.ts, so the YAML work of a parse (most
// of it: about 6 ms for a ten-node graph, far more on a busy machine) never blocks an event loop that serves
// requests. Runs at background priority and warms the parser up first (a parse per turn, so documents that
// arrive meanwhile are not held back for long). Replies with the clean parse, or none when the document has
// problems (the caller then parses it itself, for located diagnostics).
import { parentPort } from 'node:worker_threads';
import { cleanGraphParseOf, warmUpGraphParser } from '@infergraph/spec';
import { runAtBackgroundPriority } from '@infergraph/threads';

interface Request {
  readonly id: number;
  readonly text: string;
  readonly file: string;
}

runAtBackgroundPriority();
void warmUpGraphParser().catch(() => undefined);

parentPort?.on('message', (request: Request) => {
  try {
    parentPort?.postMessage({ id: request.id, clean: cleanGraphParseOf(request.text, request.file) });
  } catch (err) {
    parentPort?.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) });
  }
});
