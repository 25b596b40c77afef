/** A parsed reference sample: column names and one Float64Array per row (row-major). */
export interface ReferenceTable {
  columns: string[];
  rows: Float64Array[];
}

// Plain decimal or scientific notation; Number() alone would also take '', '0x1f', 'Infinity'.
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a reference sample.
 *
 * - csv: the first record is a header; fields are comma-separated, trimmed, and may be double-quoted
 *   (`""` escapes a quote). Blank lines are skipped; line numbers in errors are 1-based file lines.
 * - json: an array of arrays (columns are named `f0`, `f1`, ...) or an array of objects (keys are
 *   the columns, in the first object's key order).
 *
 * `columns` selects and orders columns by name; only the selected columns must be numeric, so a
 * label column can sit in the file. Every used value must be a finite number.
 */
export function parseReferenceData(text: string, format: 'csv' | 'json', columns?: readonly string[]): ReferenceTable {
  return format === 'csv' ? parseCsv(text, columns) : parseJson(text, columns);
}

/** Column-major copy of row-major data: one Float64Array per column. */
export function toColumns(rows: readonly ArrayLike<number>[]): Float64Array[] {
  const width = rows[0]?.length ?? 0;
  const out = Array.from({ length: width }, () => new Float64Array(rows.length));
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error(`row ${r} has ${row.length} values, expected ${width} (as row 0)`);
    for (let c = 0; c < width; c++) (out[c] as Float64Array)[r] = row[c] as number;
  });
  return out;
}

/** Indices of the selected columns in `available`, in selection order (all when none selected). */
function selectColumns(available: readonly string[], selected: readonly string[] | undefined): number[] {
  if (selected === undefined) return available.map((_, i) => i);
  const seen = new Set<string>();
  return selected.map((name) => {
    if (seen.has(name)) throw new Error(`column "${name}" is selected twice`);
    seen.add(name);
    const i = available.indexOf(name);
    if (i < 0) throw new Error(`unknown column "${name}" (columns: ${available.map((c) => `"${c}"`).join(', ')})`);
    return i;
  });
}

interface CsvRecord {
  line: number;
  fields: string[];
}

function parseCsv(text: string, selected: readonly string[] | undefined): ReferenceTable {
  const records = csvRecords(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = records[0];
  if (header === undefined) throw new Error('the CSV is empty: expected a header line');
  const names = header.fields;
  names.forEach((name, i) => {
    if (name === '') throw new Error(`line ${header.line}: header field ${i + 1} is empty`);
    if (names.indexOf(name) !== i) throw new Error(`line ${header.line}: column "${name}" appears twice in the header`);
  });
  const picked = selectColumns(names, selected);
  if (records.length < 2) throw new Error('the CSV has a header but no data lines');
  const rows = records.slice(1).map(({ line, fields }) => {
    if (fields.length !== names.length) throw new Error(`line ${line}: expected ${names.length} fields (as the header), got ${fields.length}`);
    const row = new Float64Array(picked.length);
    picked.forEach((c, k) => {
      const raw = fields[c] as string;
      if (!NUMBER.test(raw)) throw new Error(`line ${line}, column "${names[c]}": ${JSON.stringify(raw)} is not a number`);
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new Error(`line ${line}, column "${names[c]}": ${raw} is not a finite number`);
      row[k] = value;
    });
    return row;
  });
  return { columns: picked.map((c) => names[c] as string), rows };
}

/** Splits CSV text into records of trimmed fields; quoted fields may hold commas, quotes and newlines. */
function csvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      // One field: optional whitespace, then a quoted or a bare value.
      while (text[i] === ' ' || text[i] === '\t') i++;
      let value: string;
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        value = '';
        for (;;) {
          const ch = text[i];
          if (ch === undefined) throw new Error(`line ${quoteLine}: unterminated quoted field`);
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          value += ch;
          i++;
        }
        value = value.trim();
        while (text[i] === ' ' || text[i] === '\t' || text[i] === '\r') i++;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n') {
          throw new Error(`line ${line}: unexpected ${JSON.stringify(next)} after a quoted field`);
        }
        blank = false;
      } else {
        let end = i;
        while (end < text.length && text[end] !== ',' && text[end] !== '\n') end++;
        value = text.slice(i, end).trim();
        if (value.includes('"')) throw new Error(`line ${line}: a field with a quote must be quoted as a whole: ${JSON.stringify(value)}`);
        if (value !== '') blank = false;
        i = end;
      }
      fields.push(value);
      if (text[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\n') i++;
    if (!blank) records.push({ line: start, fields });
    line++;
  }
  return records;
}

function parseJson(text: string, selected: readonly string[] | undefined): ReferenceTable {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!Array.isArray(data)) throw new Error('the JSON must be an array of rows (arrays or objects)');
  const items = data as unknown[];
  const first: unknown = items[0];
  if (first === undefined) throw new Error('the JSON array is empty: expected at least one row');
  if (Array.isArray(first) && first.length === 0) throw new Error('index 0: the row is empty');
  return Array.isArray(first) ? jsonArrayRows(items, first.length, selected) : jsonObjectRows(items, selected);
}

function jsonArrayRows(items: readonly unknown[], width: number, selected: readonly string[] | undefined): ReferenceTable {
  const names = Array.from({ length: width }, (_, i) => `f${i}`);
  const picked = selectColumns(names, selected);
  const rows = items.map((item, index) => {
    if (!Array.isArray(item)) throw new Error(`index ${index}: expected an array (as index 0), got ${describe(item)}`);
    const values = item as unknown[];
    if (values.length !== width) throw new Error(`index ${index}: expected ${width} values (as index 0), got ${values.length}`);
    return Float64Array.from(picked, (c) => jsonNumber(values[c], index, names[c] as string));
  });
  return { columns: picked.map((c) => names[c] as string), rows };
}

function jsonObjectRows(items: readonly unknown[], selected: readonly string[] | undefined): ReferenceTable {
  const objects = items.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new Error(`index ${index}: expected an object (as index 0), got ${describe(item)}`);
    }
    return item as Record<string, unknown>;
  });
  const keys = Object.keys(objects[0] as Record<string, unknown>);
  const names = keys.filter((k) => k !== '');
  if (names.length < keys.length) throw new Error('index 0: a column name is empty');
  const picked = selectColumns(names, selected).map((c) => names[c] as string);
  const rows = objects.map((o, index) => {
    if (selected === undefined) {
      const extra = Object.keys(o).find((k) => !names.includes(k));
      if (extra !== undefined) throw new Error(`index ${index}: unexpected column "${extra}" (not in index 0)`);
    }
    return Float64Array.from(picked, (name) => {
      if (!Object.hasOwn(o, name)) throw new Error(`index ${index}: missing column "${name}"`);
      return jsonNumber(o[name], index, name);
    });
  });
  return { columns: picked, rows };
}

function jsonNumber(value: unknown, index: number, column: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`index ${index}, column "${column}": ${describe(value)} is not a number`);
  }
  return value;
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}
