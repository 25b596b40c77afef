import { customModuleFields } from './graph-path.fields';
import { absolutizeGraphPaths } from './graph-paths.rewriter';
import { screenGraphSource } from './graph-source.guard';

/** A document posted to the controller as it will be stored, or why it cannot be. */
export type PostedGraph =
  | { readonly problem: string }
  | {
      /** The document with its relative paths made absolute; it passed screenGraphSource as it is. */
      readonly text: string;
      /** `metadata.name` when it is a string. */
      readonly name: string | undefined;
      /** The custom-module fields its nodes name (code it would run), for the controller's ALLOW_POSTED_MODULES. */
      readonly moduleFields: readonly string[];
    };

/**
 * Prepares a posted graph document: screened (size, UTF-8, alias bombs) before anything parses it, the
 * custom modules it names listed, and its relative paths made absolute against `baseDir`. The rewritten
 * document is screened again (absolute paths are longer: it may no longer fit). Three YAML parses of up to
 * 256 KiB, so the controller runs it in its loading thread.
 */
export function preparePostedGraph(bytes: Uint8Array, baseDir: string): PostedGraph {
  const screened = screenGraphSource(bytes);
  if ('problem' in screened) return { problem: `the posted graph ${screened.problem}` };
  const moduleFields = customModuleFields(screened.text);
  const absolute = absolutizeGraphPaths(screened.text, baseDir);
  if (absolute.text !== screened.text) {
    const again = screenGraphSource(Buffer.from(absolute.text, 'utf8'));
    if ('problem' in again) return { problem: `the posted graph, with its relative paths made absolute against ${baseDir}, ${again.problem}` };
  }
  return { text: absolute.text, name: absolute.name, moduleFields };
}
