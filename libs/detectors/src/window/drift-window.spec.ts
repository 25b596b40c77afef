import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriftWindowConfig } from '@infergraph/spec';
import { DriftWindow, type CompletedWindow } from './drift-window';

// Pure-logic unit test; time is a hand-driven fake clock.

/** Rows [k, 10k] for k in [from, to): feature 0 is the sequence number, feature 1 ten times it. */
function rows(from: number, to: number): Float64Array[] {
  return Array.from({ length: to - from }, (_, i) => Float64Array.of(from + i, 10 * (from + i)));
}

function clock(start = 1_000): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A window without its column arrays, plus feature 0 as numbers, for compact comparisons. */
function brief(w: CompletedWindow): {
  first: number[];
  size: number;
  start: number;
  end: number;
  startedAt: number;
  endedAt: number;
} {
  return {
    first: Array.from(w.columns[0] ?? []),
    size: w.size,
    start: w.start,
    end: w.end,
    startedAt: w.startedAt,
    endedAt: w.endedAt,
  };
}

describe('drift window: tumbling', () => {
  it('completes a window every size rows, none before', () => {
    const t = clock();
    const window = new DriftWindow({ size: 3 }, 2, t.now);
    assert.deepEqual(window.add(rows(0, 2)), []);
    t.advance(5);
    const [w] = window.add(rows(2, 3));
    assert.ok(w);
    assert.deepEqual(brief(w), {
      first: [0, 1, 2],
      size: 3,
      start: 0,
      end: 3,
      startedAt: 1_000,
      endedAt: 1_005,
    });
    assert.deepEqual(Array.from(w.columns[1] ?? []), [0, 10, 20]);
    assert.equal(w.columns.length, 2);
  });

  it('completes two windows from one batch that spans them and keeps the remainder', () => {
    const window = new DriftWindow({ size: 4 }, 2, clock().now);
    assert.deepEqual(window.add(rows(0, 3)), []);
    const completed = window.add(rows(3, 10));
    assert.deepEqual(
      completed.map((w) => [w.start, w.end, Array.from(w.columns[0] ?? [])]),
      [
        [0, 4, [0, 1, 2, 3]],
        [4, 8, [4, 5, 6, 7]],
      ],
    );
    assert.deepEqual(
      window
        .add(rows(10, 12))
        .map(brief)
        .map((w) => w.first),
      [[8, 9, 10, 11]],
    );
  });

  it('hands out copies that later rows do not overwrite', () => {
    const window = new DriftWindow({ size: 2 }, 2, clock().now);
    const [w] = window.add(rows(0, 2));
    window.add(rows(2, 4));
    assert.deepEqual(Array.from(w?.columns[0] ?? []), [0, 1]);
  });

  it('takes flat row-major data with a row count', () => {
    const window = new DriftWindow({ size: 2 }, 3, clock().now);
    const [w] = window.add({
      data: Float32Array.of(1, 2, 3, 4, 5, 6),
      rows: 2,
    });
    assert.deepEqual(
      w?.columns.map((c) => Array.from(c)),
      [
        [1, 4],
        [2, 5],
        [3, 6],
      ],
    );
  });

  it('ignores tick for count windows', () => {
    const t = clock();
    const window = new DriftWindow({ size: 2 }, 2, t.now);
    window.add(rows(0, 1));
    t.advance(1e9);
    assert.deepEqual(window.tick(), []);
  });
});

describe('drift window: sliding', () => {
  it('emits after the first size rows, then every slide rows, over the last size rows', () => {
    const window = new DriftWindow({ size: 4, slide: 2 }, 2, clock().now);
    assert.deepEqual(window.add(rows(0, 3)), []);
    assert.deepEqual(
      window.add(rows(3, 4)).map((w) => Array.from(w.columns[0] ?? [])),
      [[0, 1, 2, 3]],
    );
    assert.deepEqual(window.add(rows(4, 5)), []);
    const completed = window.add(rows(5, 10));
    assert.deepEqual(
      completed.map((w) => [w.start, w.end, w.size, Array.from(w.columns[0] ?? []), Array.from(w.columns[1] ?? [])]),
      [
        [2, 6, 4, [2, 3, 4, 5], [20, 30, 40, 50]],
        [4, 8, 4, [4, 5, 6, 7], [40, 50, 60, 70]],
        [6, 10, 4, [6, 7, 8, 9], [60, 70, 80, 90]],
      ],
    );
    assert.deepEqual(window.add(rows(10, 11)), []);
    assert.deepEqual(
      window.add(rows(11, 12)).map((w) => Array.from(w.columns[0] ?? [])),
      [[8, 9, 10, 11]],
    );
  });

  it('emits a window per row when slide is 1, oldest row first across the ring wrap', () => {
    const window = new DriftWindow({ size: 3, slide: 1 }, 2, clock().now);
    const completed = window.add(rows(0, 7));
    assert.deepEqual(
      completed.map((w) => Array.from(w.columns[0] ?? [])),
      [
        [0, 1, 2],
        [1, 2, 3],
        [2, 3, 4],
        [3, 4, 5],
        [4, 5, 6],
      ],
    );
  });

  it('stamps each window with the arrival times of its first and last rows', () => {
    const t = clock(0);
    const window = new DriftWindow({ size: 3, slide: 2 }, 2, t.now);
    const arrivals: CompletedWindow[] = [];
    for (let k = 0; k < 7; k++) {
      t.advance(10);
      arrivals.push(...window.add(rows(k, k + 1)));
    }
    assert.deepEqual(
      arrivals.map((w) => [w.start, w.startedAt, w.endedAt]),
      [
        [0, 10, 30],
        [2, 30, 50],
        [4, 50, 70],
      ],
    );
  });
});

describe('drift window: time', () => {
  it('closes the window on tick once durationMs has passed, with the rows it received', () => {
    const t = clock(1_000);
    const window = new DriftWindow({ durationMs: 100 }, 2, t.now);
    t.advance(10);
    assert.deepEqual(window.add(rows(0, 2)), []);
    t.advance(40);
    window.add(rows(2, 3));
    t.advance(49);
    assert.deepEqual(window.tick(), [], 'not yet: 99 ms');
    t.advance(1);
    const [w] = window.tick();
    assert.ok(w);
    assert.deepEqual(brief(w), {
      first: [0, 1, 2],
      size: 3,
      start: 1_000,
      end: 1_100,
      startedAt: 1_010,
      endedAt: 1_050,
    });
    assert.deepEqual(window.tick(), [], 'closed once');
  });

  it('emits no empty windows and keeps windows aligned across idle periods', () => {
    const t = clock(0);
    const window = new DriftWindow({ durationMs: 100 }, 2, t.now);
    t.advance(250);
    assert.deepEqual(window.tick(), []);
    window.add(rows(0, 1)); // at 250: in [200, 300)
    t.advance(60);
    const [w] = window.tick();
    assert.deepEqual(w && brief(w), {
      first: [0],
      size: 1,
      start: 200,
      end: 300,
      startedAt: 250,
      endedAt: 250,
    });
  });

  it('puts rows that arrive after the window ended, before the timer ticks, into the next window', () => {
    const t = clock(0);
    const window = new DriftWindow({ durationMs: 100 }, 2, t.now);
    window.add(rows(0, 2));
    t.advance(130); // the timer is late
    const closed = window.add(rows(2, 4));
    assert.deepEqual(closed.map(brief), [{ first: [0, 1], size: 2, start: 0, end: 100, startedAt: 0, endedAt: 0 }]);
    t.advance(100);
    assert.deepEqual(window.tick().map(brief), [
      {
        first: [2, 3],
        size: 2,
        start: 100,
        end: 200,
        startedAt: 130,
        endedAt: 130,
      },
    ]);
  });

  it('holds as many rows as arrive within the duration', () => {
    const t = clock(0);
    const window = new DriftWindow({ durationMs: 50 }, 2, t.now);
    for (let k = 0; k < 1_000; k += 100) window.add(rows(k, k + 100));
    t.advance(50);
    const [w] = window.tick();
    assert.equal(w?.size, 1_000);
    assert.deepEqual(Array.from(w?.columns[1]?.subarray(995) ?? []), [9950, 9960, 9970, 9980, 9990]);
  });
});

describe('drift window: configuration and input checks', () => {
  const badConfigs: [string, DriftWindowConfig, RegExp][] = [
    ['both size and durationMs', { size: 10, durationMs: 100 }, /give exactly one of size or durationMs/],
    ['neither size nor durationMs', {}, /give exactly one of size or durationMs/],
    ['a slide larger than size', { size: 4, slide: 5 }, /slide must be an integer between 1 and size, got 5/],
    ['a slide without size', { durationMs: 100, slide: 5 }, /slide must be an integer between 1 and size/],
    ['a size of 0', { size: 0 }, /size must be an integer >= 1, got 0/],
  ];
  for (const [what, config, message] of badConfigs) {
    it(`refuses ${what}`, () => {
      assert.throws(() => new DriftWindow(config, 2), { message });
    });
  }

  it('keeps an expired time window when a bad batch is refused', () => {
    const t = clock(0);
    const window = new DriftWindow({ durationMs: 100 }, 2, t.now);
    window.add(rows(0, 1));
    t.advance(100);
    assert.throws(() => window.add([Float64Array.of(1)]), { message: /row 0 has 1 values, expected 2/ });
    assert.deepEqual(
      window.tick().map((w) => w.size),
      [1],
    );
  });

  it('refuses rows of the wrong width and flat data of the wrong length', () => {
    const window = new DriftWindow({ size: 4 }, 2);
    assert.throws(() => window.add([Float64Array.of(1, 2, 3)]), {
      message: /^drift window: row 0 has 3 values, expected 2$/,
    });
    assert.throws(() => window.add({ data: new Float64Array(5), rows: 3 }), {
      message: /flat data holds 5 values, expected rows × features = 3 × 2/,
    });
  });
});
