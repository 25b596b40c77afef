/**
 * Checks a reference sample before fitting and returns its feature count: at least `minRows`
 * rows, every row of the same non-zero length, every value finite.
 */
export function referenceFeatures(method: string, rows: readonly ArrayLike<number>[], minRows = 2): number {
  if (rows.length < minRows) throw new Error(`${method} needs at least ${minRows} reference rows, got ${rows.length}`);
  const features = rows[0]?.length ?? 0;
  if (features === 0) throw new Error(`${method}: reference rows have no values`);
  rows.forEach((row, r) => {
    if (row.length !== features) throw new Error(`${method}: reference row ${r} has ${row.length} values, expected ${features} (as row 0)`);
    for (let f = 0; f < features; f++) {
      if (!Number.isFinite(row[f])) throw new Error(`${method}: reference row ${r}, feature ${f} is ${row[f]}, expected a finite number`);
    }
  });
  return features;
}

/** Throws unless every row to score has exactly `features` values. */
export function checkScoreRows(rows: readonly ArrayLike<number>[], features: number): void {
  rows.forEach((row, r) => {
    if (row.length !== features) throw new Error(`row ${r} has ${row.length} values; the detector was fitted on ${features} features`);
  });
}
