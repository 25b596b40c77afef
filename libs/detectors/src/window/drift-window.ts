import type { DriftWindowConfig } from '@infergraph/spec';

/** A window of rows ready for a drift test. */
export interface CompletedWindow {
  /** One column per feature, each `size` long, oldest row first. */
  columns: Float64Array[];
  size: number;
  /**
   * Half-open bounds [start, end): row sequence numbers (0-based, counting every row added) for
   * count windows, epoch ms for time windows.
   */
  start: number;
  end: number;
  /** Epoch ms at which the window's first and last rows arrived. */
  startedAt: number;
  endedAt: number;
}

/** A batch as row-major flat data: `rows` rows of `features` values each. */
export interface FlatRows {
  readonly data: ArrayLike<number>;
  readonly rows: number;
}

export type WindowRows = readonly ArrayLike<number>[] | FlatRows;

/**
 * Cuts a stream of rows into drift-test windows.
 *
 * - `{size}`: tumbling; a window every `size` rows.
 * - `{size, slide}`: sliding; once `size` rows have arrived, a window over the last `size` rows
 *   every `slide` rows. Rows live in a ring buffer of `size` rows, so memory is bounded.
 * - `{durationMs}`: time windows [t0 + k·durationMs, t0 + (k+1)·durationMs), t0 being construction
 *   time. `tick()` (from a timer) closes the current window once its time is up; `add` does too
 *   before recording rows, so every row lands in the window of its arrival time however late the
 *   timer runs. Windows with no rows are not emitted. A time window holds every row of its duration.
 */
export class DriftWindow {
  private readonly slide: number;
  private capacity: number;
  private columns: Float64Array[];
  private arrivedAt: Float64Array;
  /** Rows added so far (the next row's sequence number). */
  private total = 0;
  /** Time windows: rows in the current window. */
  private held = 0;
  private openedAt: number;

  constructor(
    private readonly config: DriftWindowConfig,
    private readonly features: number,
    private readonly now: () => number = Date.now,
  ) {
    const { size, slide, durationMs } = config;
    if (!Number.isInteger(features) || features < 1) throw new Error(`drift window: features must be an integer >= 1, got ${features}`);
    if ((size === undefined) === (durationMs === undefined)) throw new Error('drift window: give exactly one of size or durationMs');
    if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new Error(`drift window: size must be an integer >= 1, got ${size}`);
    if (slide !== undefined && (size === undefined || !Number.isInteger(slide) || slide < 1 || slide > size)) {
      throw new Error(`drift window: slide must be an integer between 1 and size, got ${slide}`);
    }
    if (durationMs !== undefined && !(durationMs > 0)) throw new Error(`drift window: durationMs must be > 0, got ${durationMs}`);
    this.slide = slide ?? size ?? 0;
    this.capacity = size ?? 64;
    this.columns = Array.from({ length: features }, () => new Float64Array(this.capacity));
    this.arrivedAt = new Float64Array(this.capacity);
    this.openedAt = this.now();
  }

  /** Records a batch (one array per row, or flat row-major data) and returns the windows it completed, oldest first. */
  add(batch: WindowRows): CompletedWindow[] {
    const f = this.features;
    const count = this.checkBatch(batch); // before closing a window, so a bad batch loses nothing
    const at = this.now();
    const completed = this.config.durationMs === undefined ? [] : this.closeExpired(at);
    const perRow = Array.isArray(batch) ? (batch as readonly ArrayLike<number>[]) : undefined;
    const flat = (batch as FlatRows).data;
    const row = (r: number, i: number): number => (perRow === undefined ? flat[r * f + i] : (perRow[r] as ArrayLike<number>)[i]) as number;
    const size = this.config.size;
    for (let r = 0; r < count; r++) {
      if (size === undefined) {
        if (this.held === this.capacity) this.grow();
        this.put(this.held, row, r, at);
        this.held++;
        this.total++;
        continue;
      }
      this.put(this.total % size, row, r, at);
      this.total++;
      if (this.total >= size && (this.total - size) % this.slide === 0) completed.push(this.countWindow(size));
    }
    return completed;
  }

  /** Time windows: closes the current window if its time is up. Count windows: nothing to do. */
  tick(): CompletedWindow[] {
    return this.config.durationMs === undefined ? [] : this.closeExpired(this.now());
  }

  private checkBatch(batch: WindowRows): number {
    if (Array.isArray(batch)) {
      const rows = batch as readonly ArrayLike<number>[];
      rows.forEach((r, i) => {
        if (r.length !== this.features) throw new Error(`drift window: row ${i} has ${r.length} values, expected ${this.features}`);
      });
      return rows.length;
    }
    const { data, rows } = batch as FlatRows;
    if (!Number.isInteger(rows) || rows < 0 || data.length !== rows * this.features) {
      throw new Error(`drift window: flat data holds ${data.length} values, expected rows × features = ${rows} × ${this.features}`);
    }
    return rows;
  }

  private put(slot: number, row: (r: number, i: number) => number, r: number, at: number): void {
    for (let i = 0; i < this.features; i++) (this.columns[i] as Float64Array)[slot] = row(r, i);
    this.arrivedAt[slot] = at;
  }

  /** The last `size` rows, unrolled from the ring (the oldest sits at total % size). */
  private countWindow(size: number): CompletedWindow {
    const oldest = this.total % size;
    const unroll = (ring: Float64Array): Float64Array => {
      const out = new Float64Array(size);
      out.set(ring.subarray(oldest));
      out.set(ring.subarray(0, oldest), size - oldest);
      return out;
    };
    return {
      columns: this.columns.map(unroll),
      size,
      start: this.total - size,
      end: this.total,
      startedAt: this.arrivedAt[oldest] as number,
      endedAt: this.arrivedAt[(this.total - 1) % size] as number,
    };
  }

  private closeExpired(at: number): CompletedWindow[] {
    const duration = this.config.durationMs as number;
    if (at - this.openedAt < duration) return [];
    const held = this.held;
    const window: CompletedWindow = {
      columns: this.columns.map((c) => c.slice(0, held)),
      size: held,
      start: this.openedAt,
      end: this.openedAt + duration,
      startedAt: this.arrivedAt[0] as number,
      endedAt: this.arrivedAt[held - 1] as number,
    };
    // Skip whole empty periods: the new window is the one `at` falls in.
    this.openedAt += duration * Math.floor((at - this.openedAt) / duration);
    this.held = 0;
    if (this.capacity > 4 * Math.max(held, 64)) this.resize(Math.max(held, 64)); // give back a burst's memory
    return held > 0 ? [window] : [];
  }

  private grow(): void {
    this.resize(this.capacity * 2);
  }

  /** Reallocates the time-window buffers, keeping the rows held. */
  private resize(capacity: number): void {
    this.capacity = capacity;
    const widen = (old: Float64Array): Float64Array => {
      const next = new Float64Array(capacity);
      next.set(old.subarray(0, this.held));
      return next;
    };
    this.columns = this.columns.map(widen);
    this.arrivedAt = widen(this.arrivedAt);
  }
}
