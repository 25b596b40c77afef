import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseReferenceData } from '@infergraph/detectors';

export interface ReferenceData {
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly Float64Array[];
}

/** Reads a detector's reference sample (CSV with a header, or JSON), relative to the graph file. */
export async function loadReferenceData(graphFile: string, refPath: string, columns?: readonly string[]): Promise<ReferenceData> {
  const file = path.resolve(path.dirname(graphFile), refPath);
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
    throw new Error(`reference ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
