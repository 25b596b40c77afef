import { createHash } from 'node:crypto';

/** One file in the cache, as the eviction policy sees it. */
export interface CacheEntry {
  readonly sha256: string;
  readonly sizeBytes: number;
  /** When a graph last asked for it (the file's mtime, touched on every use). */
  readonly lastUsedMs: number;
  /** Held by a graph or node loaded in this process: never evicted. */
  readonly inUse: boolean;
}

/**
 * Which entries to delete so that the cache holds at most `maxBytes`: least recently used first, never one
 * in use. When the entries in use alone exceed the limit, every other entry goes and the cache stays over.
 */
export function chooseEvictions(entries: readonly CacheEntry[], maxBytes: number): string[] {
  let total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  const victims: string[] = [];
  const candidates = entries.filter((e) => !e.inUse).sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.sha256.localeCompare(b.sha256));
  for (const e of candidates) {
    if (total <= maxBytes) break;
    victims.push(e.sha256);
    total -= e.sizeBytes;
  }
  return victims;
}

/**
 * The name a download is kept under while incomplete (and what concurrent requests share): the expected
 * sha256 when the graph pins one (two URIs of the same bytes share it), else a hash of the URI.
 */
export function downloadKeyOf(uri: string, sha256: string | undefined): string {
  return sha256 ?? `uri-${createHash('sha256').update(uri).digest('hex')}`;
}

/** Where the uri → content record of an unpinned (s3:// without sha256) object is kept. */
export function uriRecordKeyOf(uri: string): string {
  return createHash('sha256').update(uri).digest('hex');
}

/**
 * Decides when a download logs its progress: for files of at least `minBytes`, each time another tenth
 * arrived or `everyMs` passed since the last line. Pure: the caller passes the clock.
 */
export class ProgressSchedule {
  private nextTenth = 1;
  private lastMs: number;

  constructor(
    private readonly totalBytes: number | undefined,
    private readonly startMs: number,
    private readonly minBytes: number,
    private readonly everyMs: number,
  ) {
    this.lastMs = startMs;
  }

  /** True when a line is due now that `receivedBytes` of the file are in. */
  due(receivedBytes: number, nowMs: number): boolean {
    if (this.totalBytes === undefined ? receivedBytes < this.minBytes : this.totalBytes < this.minBytes) return false;
    const tenths = this.totalBytes === undefined ? 0 : Math.floor((receivedBytes / this.totalBytes) * 10);
    if (tenths >= this.nextTenth || nowMs - this.lastMs >= this.everyMs) {
      this.nextTenth = Math.max(this.nextTenth, tenths) + 1;
      this.lastMs = nowMs;
      return true;
    }
    return false;
  }

  /** e.g. "42.0 MiB of 100.0 MiB (42 %), 12.3 MiB/s". */
  describe(receivedBytes: number, nowMs: number): string {
    const rate = receivedBytes / Math.max(0.001, (nowMs - this.startMs) / 1000);
    const of = this.totalBytes === undefined ? '' : ` of ${mebibytes(this.totalBytes)} (${Math.floor((receivedBytes / this.totalBytes) * 100)} %)`;
    return `${mebibytes(receivedBytes)}${of}, ${mebibytes(rate)}/s`;
  }
}

export function mebibytes(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
