import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseReferenceData, toColumns } from './reference-data.parser';

// Pure-logic unit test; the iris case reads the real reference file of models/iris-logreg.

const ROOT = process.env.INFERGRAPH_ROOT ?? path.resolve(__dirname, '../../../../..');

const rowsOf = (t: { rows: Float64Array[] }): number[][] => t.rows.map((r) => Array.from(r));

describe('reference data parser: CSV', () => {
  it('parses the iris reference: a header and 112 numeric rows', () => {
    const text = readFileSync(path.join(ROOT, 'models/iris-logreg/1/reference.csv'), 'utf8');
    const table = parseReferenceData(text, 'csv');
    assert.deepEqual(table.columns, ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']);
    assert.equal(table.rows.length, 112);
    assert.deepEqual(Array.from(table.rows[0] ?? []), [7.4, 2.8, 6.1, 1.9]);
    assert.ok(table.rows.every((r) => r instanceof Float64Array && r.length === 4));
  });

  it('trims fields, reads quoted fields and CRLF line ends, and skips blank lines', () => {
    const text = '\uFEFF a , "b, the second" ,"say ""c"""\r\n 1 , "2.5" ,-3e2\r\n\r\n  \n4,5,6\n';
    const table = parseReferenceData(text, 'csv');
    assert.deepEqual(table.columns, ['a', 'b, the second', 'say "c"']);
    assert.deepEqual(rowsOf(table), [
      [1, 2.5, -300],
      [4, 5, 6],
    ]);
  });

  it('selects and orders columns by name, and leaves unselected columns unparsed', () => {
    const text = 'x,label,y\n1,setosa,2\n3,virginica,4\n';
    const table = parseReferenceData(text, 'csv', ['y', 'x']);
    assert.deepEqual(table.columns, ['y', 'x']);
    assert.deepEqual(rowsOf(table), [
      [2, 1],
      [4, 3],
    ]);
  });

  const errors: [string, string, readonly string[] | undefined, RegExp][] = [
    ['a value that is not a number', 'a,petal width (cm)\n1,2\n\n3,abc\n', undefined, /^line 4, column "petal width \(cm\)": "abc" is not a number$/],
    ['an empty value', 'a,b\n1,\n', undefined, /^line 2, column "b": "" is not a number$/],
    ['a non-finite value', 'a,b\n1,Infinity\n', undefined, /^line 2, column "b": "Infinity" is not a number$/],
    ['a hexadecimal value', 'a,b\n0x10,1\n', undefined, /^line 2, column "a": "0x10" is not a number$/],
    ['a value that overflows to infinity', 'a\n1e400\n', undefined, /^line 2, column "a": 1e400 is not a finite number$/],
    ['a line with too few fields', 'a,b,c\n1,2,3\n4,5\n', undefined, /^line 3: expected 3 fields \(as the header\), got 2$/],
    ['an unknown selected column', 'a,b\n1,2\n', ['a', 'z'], /^unknown column "z" \(columns: "a", "b"\)$/],
    ['a column selected twice', 'a,b\n1,2\n', ['a', 'a'], /^column "a" is selected twice$/],
    ['a repeated header name', 'a,b,a\n1,2,3\n', undefined, /^line 1: column "a" appears twice in the header$/],
    ['an empty header name', 'a,,c\n1,2,3\n', undefined, /^line 1: header field 2 is empty$/],
    ['an empty file', '\n \n', undefined, /^the CSV is empty: expected a header line$/],
    ['a header with no data', 'a,b\n', undefined, /^the CSV has a header but no data lines$/],
    ['an unterminated quote', 'a,b\n1,"2\n', undefined, /^line 2: unterminated quoted field$/],
    ['text after a closing quote', 'a,b\n1,"2"x\n', undefined, /^line 2: unexpected "x" after a quoted field$/],
  ];
  for (const [what, text, columns, message] of errors) {
    it(`rejects ${what}, naming where`, () => {
      assert.throws(() => parseReferenceData(text, 'csv', columns), {
        message,
      });
    });
  }
});

describe('reference data parser: JSON', () => {
  it('names the columns of an array of arrays f0, f1, ...', () => {
    const table = parseReferenceData('[[1, 2, 3], [4.5, -5, 6e-1]]', 'json');
    assert.deepEqual(table.columns, ['f0', 'f1', 'f2']);
    assert.deepEqual(rowsOf(table), [
      [1, 2, 3],
      [4.5, -5, 0.6],
    ]);
    assert.deepEqual(rowsOf(parseReferenceData('[[1, 2, 3]]', 'json', ['f2', 'f0'])), [[3, 1]]);
  });

  it('takes the keys of an array of objects as columns, in the first object order', () => {
    const table = parseReferenceData('[{"b": 1, "a": 2}, {"a": 4, "b": 3}]', 'json');
    assert.deepEqual(table.columns, ['b', 'a']);
    assert.deepEqual(rowsOf(table), [
      [1, 2],
      [3, 4],
    ]);
  });

  it('ignores keys outside a column selection, non-numeric ones included', () => {
    const table = parseReferenceData('[{"a": 1, "label": "x"}, {"a": 2, "label": "y", "note": null}]', 'json', ['a']);
    assert.deepEqual(table.columns, ['a']);
    assert.deepEqual(rowsOf(table), [[1], [2]]);
  });

  const errors: [string, string, readonly string[] | undefined, RegExp][] = [
    ['a string value', '[[1, 2], [3, "abc"]]', undefined, /^index 1, column "f1": "abc" is not a number$/],
    ['a null value', '[{"a": 1}, {"a": null}]', undefined, /^index 1, column "a": null is not a number$/],
    ['a row of another length', '[[1, 2], [3]]', undefined, /^index 1: expected 2 values \(as index 0\), got 1$/],
    ['a missing key', '[{"a": 1, "b": 2}, {"a": 3}]', undefined, /^index 1: missing column "b"$/],
    ['an unexpected key', '[{"a": 1}, {"a": 3, "c": 4}]', undefined, /^index 1: unexpected column "c" \(not in index 0\)$/],
    ['rows of mixed kinds', '[[1], {"a": 1}]', undefined, /^index 1: expected an array \(as index 0\), got \{"a":1\}$/],
    ['an object that is not an array', '{"a": [1, 2]}', undefined, /^the JSON must be an array of rows/],
    ['an empty array', '[]', undefined, /^the JSON array is empty/],
    ['an empty first row', '[[], [1]]', undefined, /^index 0: the row is empty$/],
    ['malformed JSON', '[[1, 2]', undefined, /^invalid JSON: /],
    ['an unknown selected column', '[[1, 2]]', ['f2'], /^unknown column "f2" \(columns: "f0", "f1"\)$/],
  ];
  for (const [what, text, columns, message] of errors) {
    it(`rejects ${what}, naming where`, () => {
      assert.throws(() => parseReferenceData(text, 'json', columns), {
        message,
      });
    });
  }
});

describe('toColumns', () => {
  it('copies row-major rows into one Float64Array per column', () => {
    const rows = [Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6)];
    const columns = toColumns(rows);
    assert.deepEqual(
      columns.map((c) => Array.from(c)),
      [
        [1, 4],
        [2, 5],
        [3, 6],
      ],
    );
    columns[0]?.fill(0);
    assert.equal(rows[0]?.[0], 1, 'the columns are a copy');
  });

  it('gives no columns for no rows and rejects ragged rows', () => {
    assert.deepEqual(toColumns([]), []);
    assert.throws(() => toColumns([Float64Array.of(1, 2), Float64Array.of(3)]), { message: /^row 1 has 1 values, expected 2 \(as row 0\)$/ });
  });
});
