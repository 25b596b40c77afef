import { parseGraphSource, parsedFromClean, type CleanGraphParse, type ParseGraphOptions, type ParsedGraphSource } from '@infergraph/spec';
import { loadingThread } from './loading.thread';
import { nextFreeTurn } from './model-open.queue';

/**
 * What parseGraphSource gives for the document, with the YAML parsed and the graph checked in the loading
 * thread (loading.thread.ts): the event loop only rebuilds the routing analysis (well under a millisecond). A document with
 * problems, or whose models fail `checkModelUri`, is parsed again here for located diagnostics; so is every
 * document when the thread cannot run.
 */
export async function parseGraphSourceOffLoop(text: string, file: string, options: ParseGraphOptions = {}): Promise<ParsedGraphSource> {
  let clean: CleanGraphParse | undefined;
  try {
    clean = (await loadingThread.call({ kind: 'parse', text, file }))['clean'] as CleanGraphParse | undefined;
  } catch {
    return parseGraphSource(text, file, options);
  }
  if (clean === undefined) return parseGraphSource(text, file, options);
  // The answer arrives in a turn of its own; checking the models' files and rebuilding the routing take the next.
  await nextFreeTurn();
  const check = options.checkModelUri;
  if (check !== undefined && clean.graph.spec.nodes.some((n) => n.type === 'model' && check(n.model.uri) !== undefined)) return parseGraphSource(text, file, options);
  return parsedFromClean(text, file, clean);
}
