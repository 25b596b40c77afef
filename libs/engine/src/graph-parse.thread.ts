import path from 'node:path';
import { parseGraphSource, parsedFromClean, type CleanGraphParse, type ParseGraphOptions, type ParsedGraphSource } from '@infergraph/spec';
import { BackgroundThread } from '@infergraph/threads';

/** One background thread per process parses the graph documents a gateway or worker loads while it serves. */
const parser = new BackgroundThread<CleanGraphParse | undefined>({
  file: path.join(__dirname, 'graph-parse.worker.js'),
  what: 'the graph parser thread',
  missingHint: '',
  resultOf: (reply) => reply['clean'] as CleanGraphParse | undefined,
});

/**
 * Starts the parser thread now, so that neither starting it (a V8 isolate) nor warming its parser up happens
 * on the event loop while graphs load. Gateways and workers call it once they listen.
 */
export function startGraphParseThread(): void {
  parser.start();
}

/**
 * What parseGraphSource gives for the document, with the YAML parsed and the graph checked in the background
 * thread: the event loop only rebuilds the routing analysis (well under a millisecond). A document with
 * problems, or whose models fail `checkModelUri`, is parsed again here for located diagnostics; so is every
 * document when the thread cannot run.
 */
export async function parseGraphSourceOffLoop(text: string, file: string, options: ParseGraphOptions = {}): Promise<ParsedGraphSource> {
  let clean: CleanGraphParse | undefined;
  try {
    clean = await parser.call({ text, file });
  } catch {
    return parseGraphSource(text, file, options);
  }
  if (clean === undefined) return parseGraphSource(text, file, options);
  const check = options.checkModelUri;
  if (check !== undefined && clean.graph.spec.nodes.some((n) => n.type === 'model' && check(n.model.uri) !== undefined)) return parseGraphSource(text, file, options);
  return parsedFromClean(text, file, clean);
}
