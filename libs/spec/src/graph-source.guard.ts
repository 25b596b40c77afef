import { CST, Lexer, LineCounter, Parser, parseDocument } from 'yaml';

/**
 * The largest graph document accepted, as a file or an admin API body: real graphs are a few KiB, and
 * parsing a hostile document near this size still takes the event loop a fraction of a second.
 */
export const MAX_GRAPH_BYTES = 256 * 1024;
/** Alias references (`*name`) per document. Graphs rarely need any; "billion laughs" needs only a few dozen. */
export const MAX_GRAPH_ALIASES = 100;
/** Collection nesting; a graph needs about ten levels. Deeper input overflows the YAML composer's stack. */
export const MAX_GRAPH_DEPTH = 64;
/** Keys per mapping; the YAML parser's duplicate-key check costs the square of this. */
export const MAX_MAPPING_KEYS = 256;
/** Nodes one alias may expand to, as in `parseGraphSource` (`toJS({ maxAliasCount })`). */
const MAX_ALIAS_EXPANSION = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes graph source bytes and checks that parsing them is cheap and safe: size, text, nesting, keys per
 * mapping and alias expansion (a YAML alias bomb), in time linear in the size. Returns the text, or a
 * problem a person can act on.
 */
export function screenGraphSource(bytes: Uint8Array): { text: string } | { problem: string } {
  if (bytes.length > MAX_GRAPH_BYTES) {
    return { problem: `is ${bytes.length} bytes; a graph document may be at most ${MAX_GRAPH_BYTES} bytes (256 KiB)` };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { problem: `is binary (a NUL byte at offset ${nul}), not a YAML document` };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { problem: 'is not UTF-8 text, so not a YAML document' };
  }
  const problem = screenGraphText(text);
  return problem === undefined ? { text } : { problem };
}

/** The checks of `screenGraphSource` on text already decoded; undefined when it is safe to parse. */
export function screenGraphText(text: string): string | undefined {
  const screened = screenForParsing(text);
  return 'problem' in screened ? screened.problem : undefined;
}

/**
 * What screening a document read, for the parser to go on from: the CST of each document (the text is
 * lexed and parsed once; the caller composes these tokens) and the line counter filled on the way.
 */
export interface ScreenedText {
  readonly tokens: readonly CST.Token[];
  readonly lines: LineCounter;
}

/** The checks of `screenGraphText`, keeping what they parsed: the CST tokens to compose, or the problem. */
export function screenForParsing(text: string): ScreenedText | { problem: string } {
  if (text.length > MAX_GRAPH_BYTES) return { problem: `is ${text.length} characters; a graph document may be at most ${MAX_GRAPH_BYTES} bytes (256 KiB)` };
  if (text.includes('\0')) return { problem: 'is binary (it holds a NUL character), not a YAML document' };
  const lines = new LineCounter();
  const shape = screenStructure(text, lines);
  if (shape.problem !== undefined) return { problem: shape.problem };
  if (shape.aliases > 0) {
    try {
      parseDocument(text, { uniqueKeys: false, logLevel: 'error' }).toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { problem: `YAML aliases expand beyond ${MAX_ALIAS_EXPANSION} nodes (${reason}); write the values out instead of aliasing them` };
    }
  }
  return { tokens: shape.tokens, lines };
}

/**
 * One pass over the lexemes, feeding the CST parser: counts aliases and flow nesting as they come (a
 * million `[` stop at the 65th), then walks each document's CST without recursion for block nesting and
 * keys per mapping.
 */
function screenStructure(text: string, lines: LineCounter): { aliases: number; problem: string | undefined; tokens: CST.Token[] } {
  const parser = new Parser(lines.addNewLine);
  // Parser.parse would count the first line; lexemes fed one by one skip that step.
  lines.addNewLine(0);
  let aliases = 0;
  let flowDepth = 0;
  const docs: CST.Token[] = [];
  let scalarNext = false;
  for (const lexeme of new Lexer().lex(text)) {
    // A plain or block scalar comes as the SCALAR marker then its text, which may start with anything.
    if (scalarNext) scalarNext = false;
    else if (lexeme === CST.SCALAR) scalarNext = true;
    else if (lexeme === '[' || lexeme === '{') flowDepth++;
    else if (lexeme === ']' || lexeme === '}') flowDepth = Math.max(0, flowDepth - 1);
    else if (lexeme.startsWith('*')) aliases++;
    if (aliases > MAX_GRAPH_ALIASES) return { aliases, tokens: [], problem: `uses more than ${MAX_GRAPH_ALIASES} YAML aliases (*name); write the values out instead` };
    if (flowDepth > MAX_GRAPH_DEPTH) return { aliases, tokens: [], problem: `nests collections more than ${MAX_GRAPH_DEPTH} levels deep` };
    for (const token of parser.next(lexeme)) docs.push(token);
  }
  for (const token of parser.end()) docs.push(token);
  for (const doc of docs) {
    const problem = screenTree(doc);
    if (problem !== undefined) return { aliases, tokens: [], problem };
  }
  return { aliases, problem: undefined, tokens: docs };
}

function screenTree(root: CST.Token): string | undefined {
  const stack: { token: CST.Token; depth: number }[] = [{ token: root, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type === 'document') {
      if (token.value !== undefined) stack.push({ token: token.value, depth });
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth >= MAX_GRAPH_DEPTH) return `nests collections more than ${MAX_GRAPH_DEPTH} levels deep`;
    const isMapping = token.type === 'block-map' || (token.type === 'flow-collection' && token.start.source === '{');
    if (isMapping && token.items.length > MAX_MAPPING_KEYS) {
      return `has a mapping with ${token.items.length} keys (at offset ${token.offset}); a graph document may have at most ${MAX_MAPPING_KEYS} per mapping`;
    }
    for (const item of token.items) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}
