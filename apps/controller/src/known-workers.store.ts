import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileDurablyAsync } from './durable-file';

const FILE_NAME = 'workers.json';
const fileSchema = z.object({ workers: z.array(z.string().min(1).max(253)).max(10_000) });

/**
 * The ids of the workers a controller had live, kept in `<STATE_DIR>/workers.json`, so that after a restart
 * it knows whom to wait for: its start-up sync ends as soon as every one of them has re-joined (or when the
 * sync window closes, for those that are gone for good). Written only when the set changes, off the event
 * loop (a flush can take tens of milliseconds on a busy disk, and joins and losses come in bursts): one write
 * at a time, the last set asked for written last.
 */
export class KnownWorkersStore {
  /** The sorted ids on disk, as JSON. */
  private saved = '';
  /** The sorted ids last asked for, as JSON. */
  private wanted = '';
  private writing: Promise<void> | undefined;

  constructor(private readonly stateDir: string) {}

  /** The ids saved by the previous run; a missing or unreadable file is an empty set and a warning. */
  load(warn: (message: string) => void): Set<string> {
    let text: string;
    try {
      text = readFileSync(`${this.stateDir}/${FILE_NAME}`, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${FILE_NAME} in STATE_DIR: ${(err as Error).message}; waiting the whole sync window`);
      return new Set();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      warn(`${FILE_NAME} in STATE_DIR is not JSON (${(err as Error).message}); waiting the whole sync window`);
      return new Set();
    }
    const checked = fileSchema.safeParse(parsed);
    if (!checked.success) {
      warn(`${FILE_NAME} in STATE_DIR: ${checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; waiting the whole sync window`);
      return new Set();
    }
    this.saved = JSON.stringify(checked.data.workers.slice().sort());
    return new Set(checked.data.workers);
  }

  /**
   * Records the live workers when the set differs from the one saved; settles once the last set asked for is
   * on disk (or its write failed: reported, not thrown; the next save tries again).
   */
  save(ids: Iterable<string>, warn: (message: string) => void): Promise<void> {
    this.wanted = JSON.stringify([...ids].sort());
    this.writing ??= this.flush(warn).finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Settles when no write is in flight. */
  settled(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async flush(warn: (message: string) => void): Promise<void> {
    while (this.wanted !== this.saved) {
      const text = this.wanted;
      try {
        await mkdir(this.stateDir, { recursive: true });
        await writeFileDurablyAsync(this.stateDir, FILE_NAME, Buffer.from(`{"workers":${text}}\n`));
        this.saved = text;
      } catch (err) {
        warn(`cannot record the live workers in ${this.stateDir}: ${(err as Error).message}`);
        return;
      }
    }
  }
}
