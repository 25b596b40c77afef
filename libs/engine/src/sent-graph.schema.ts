import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GraphRefMessage } from '@infergraph/protocol';
import { MAX_GRAPH_BYTES, graphId } from '@infergraph/spec';

/** A graph document the controller sent (an assignment's or a catalogue's), checked at the receiver. */
export interface SentGraph {
  /** The graph id (`NodeKey.graphId`): `<name>`, or `<name>@<version>` for a version other than "1". */
  readonly name: string;
  /** Where the graph is at the controller: relative paths resolve beside it (never read). */
  readonly file: string;
  readonly contentHash: string;
  readonly source: string;
}

const sentGraphSchema = z.object({
  name: graphId,
  file: z.string().min(1).max(4096).refine((f) => !f.includes('\0'), 'must not contain NUL'),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex'),
  source: z
    .string()
    .min(1, 'is empty: the controller sent no graph document (is it older than this process?)')
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_GRAPH_BYTES, `must be at most ${MAX_GRAPH_BYTES} bytes`),
});

/**
 * Checks the graphs of a control message: each names a graph, carries its document within the size limit,
 * and the document hashes to the content hash it claims. A refused one comes back with the reason (naming
 * the field) under its name when it has a usable one, so the nodes assigned from it can fail with it.
 */
export function checkSentGraphs(messages: readonly GraphRefMessage[]): { graphs: SentGraph[]; refused: { name: string | undefined; problem: string }[] } {
  const graphs: SentGraph[] = [];
  const refused: { name: string | undefined; problem: string }[] = [];
  messages.forEach((m, index) => {
    const name = typeof m.name === 'string' && graphId.safeParse(m.name).success ? m.name : undefined;
    const parsed = sentGraphSchema.safeParse(m);
    if (!parsed.success) {
      const problem = parsed.error.issues
        .slice(0, 5)
        .map((i) => `graphs[${index}].${i.path.join('.')}: ${i.message}`)
        .join('; ');
      refused.push({ name, problem: `graph ${name === undefined ? `#${index}` : `"${name}"`} from the controller refused: ${problem}` });
      return;
    }
    const g = parsed.data;
    const hash = createHash('sha256').update(g.source, 'utf8').digest('hex');
    if (hash !== g.content_hash) {
      refused.push({ name, problem: `graph "${g.name}" from the controller refused: graphs[${index}].source has sha256 ${hash}, not the content_hash ${g.content_hash} it came with` });
      return;
    }
    graphs.push({ name: g.name, file: g.file, contentHash: g.content_hash, source: g.source });
  });
  return { graphs, refused };
}
