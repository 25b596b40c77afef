import { accessSync, constants, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { graphId } from '@infergraph/spec';
import { TEMPORARY_FILE, syncDirectory, writeFileDurablyAsync } from './durable-file';

/**
 * The graphs posted through the admin API: one `<id>.yaml` each (`NodeKey.graphId`: `<name>` or `<name>@<version>`) in `<STATE_DIR>/graphs`, the controller's
 * own directory (GRAPHS_DIR belongs to the user and is never written). Every write is atomic: a temporary
 * file beside the target, flushed to disk, renamed over it; a crash leaves the old graph or the new one.
 */
export class PostedGraphStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'graphs');
  }

  /** Creates the directory and removes temporaries a crash left; a directory it cannot write is a start-up error. */
  open(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      accessSync(this.dir, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new Error(`STATE_DIR: cannot keep posted graphs in ${this.dir}: ${messageOf(err)}; set STATE_DIR to a writable directory`, { cause: err });
    }
    for (const name of readdirSync(this.dir)) if (TEMPORARY_FILE.test(name)) rmSync(path.join(this.dir, name), { force: true });
  }

  /** The file of a graph id; throws for anything but a DNS-1123 name with an optional "@<version>". */
  fileOf(id: string): string {
    if (!graphId.safeParse(id).success) {
      throw new Error(`"${id}" is not a graph name (a DNS-1123 label, optionally followed by "@<version>")`);
    }
    return path.join(this.dir, `${id}.yaml`);
  }

  /** The stored graph files, by name. */
  files(): string[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.yaml') && !n.startsWith('.'))
      .sort()
      .map((n) => path.join(this.dir, n));
  }

  /**
   * Stores `bytes` as the graph `name`, replacing what was there, atomically and durably, off the event loop;
   * resolves with the file. One save of a name at a time: the caller keeps others away until it settles.
   */
  async save(name: string, bytes: Uint8Array): Promise<string> {
    const file = this.fileOf(name);
    try {
      return await writeFileDurablyAsync(this.dir, path.basename(file), bytes);
    } catch (err) {
      throw new Error(`cannot store graph "${name}" in ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Removes the stored graph `name` (nothing when it is not stored). */
  remove(name: string): void {
    try {
      rmSync(this.fileOf(name), { force: true });
    } catch (err) {
      throw new Error(`cannot remove graph "${name}" from ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    syncDirectory(this.dir);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
