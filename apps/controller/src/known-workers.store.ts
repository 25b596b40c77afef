import { mkdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileDurably } from './durable-file';

const FILE_NAME = 'workers.json';
const fileSchema = z.object({ workers: z.array(z.string().min(1).max(253)).max(10_000) });

/**
 * The ids of the workers a controller had live, kept in `<STATE_DIR>/workers.json`, so that after a restart
 * it knows whom to wait for: its start-up sync ends as soon as every one of them has re-joined (or when the
 * sync window closes, for those that are gone for good). Written only when the set changes.
 */
export class KnownWorkersStore {
  private saved = '';

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

  /** Records the live workers when the set differs from the one saved; a failed write is reported, not thrown. */
  save(ids: Iterable<string>, warn: (message: string) => void): void {
    const workers = [...ids].sort();
    const text = JSON.stringify(workers);
    if (text === this.saved) return;
    try {
      mkdirSync(this.stateDir, { recursive: true });
      writeFileDurably(this.stateDir, FILE_NAME, Buffer.from(JSON.stringify({ workers }) + '\n'));
      this.saved = text;
    } catch (err) {
      warn(`cannot record the live workers in ${this.stateDir}: ${(err as Error).message}`);
    }
  }
}
