import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseReferenceData } from '@infergraph/detectors';
import { requestedPath, type PathPolicy } from './path.policy';

export interface ReferenceData {
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly Float64Array[];
}

/** Parse errors can quote cells; a message carries at most this many characters of one. */
const MAX_PARSE_MESSAGE_CHARS = 200;

/**
 * Reads a detector's reference sample (CSV with a header, or JSON), relative to the graph file. With a
 * policy, only inside its roots (the message for a file outside never says whether it exists, and nothing
 * of it is read); graph loaders confine every reference before they get here (PathPolicy.confineNodes).
 */
export async function loadReferenceData(graphFile: string, refPath: string, columns?: readonly string[], paths?: PathPolicy): Promise<ReferenceData> {
  const resolved = paths === undefined ? requestedPath(graphFile, refPath, 'reference.path') : paths.confine(graphFile, refPath, 'reference.path');
  if ('error' in resolved) throw new Error(resolved.error);
  const file = resolved.path;
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.json') throw new Error(`reference ${file}: use a .csv (with a header row) or .json file`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`reference file not found: ${file}`, { cause: err });
  }
  try {
    const parsed = parseReferenceData(text, ext === '.csv' ? 'csv' : 'json', columns);
    if (parsed.rows.length < 2) throw new Error('needs at least 2 rows');
    return { file, columns: parsed.columns, rows: parsed.rows };
  } catch (err) {
    throw new Error(`reference ${file}: ${capped(err instanceof Error ? err.message : String(err))}`, { cause: err });
  }
}

function capped(message: string): string {
  return message.length <= MAX_PARSE_MESSAGE_CHARS ? message : `${message.slice(0, MAX_PARSE_MESSAGE_CHARS)}… (${message.length - MAX_PARSE_MESSAGE_CHARS} more characters)`;
}
