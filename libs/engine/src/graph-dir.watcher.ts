import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { graphFilesIn, type EngineLogger, type GraphRegistry } from './graph.registry';

export interface GraphDirWatchOptions {
  /** How often every file is looked at, for changes fs.watch misses (network filesystems, some editors). */
  readonly scanMs: number;
  /** Quiet time after a file event before looking: an editor's save is several events. */
  readonly debounceMs: number;
}

/**
 * Hot reload of GRAPHS_DIR: a new, changed (graph file bytes, or a model file's size and mtime) graph file
 * is (re)loaded through the registry, which validates it beside the served version and switches only when
 * it is good. A deleted file is reported on its versions and they keep serving (DELETE
 * /v1/graphs/{g}/versions/{v} unloads): a half-finished `mv` or checkout must not take a graph down.
 */
export class GraphDirWatcher {
  /** Every graph file as last loaded: its bytes' hash, and the size and mtime of its models. */
  private readonly seen = new Map<string, { graph: string; models: string }>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly dirs: readonly string[],
    private readonly logger: EngineLogger,
    private readonly options: GraphDirWatchOptions,
  ) {}

  /**
   * Takes the current files as the baseline (call after the first load) and, unless `watch` is false
   * (then only `scan` looks, e.g. on SIGHUP), starts watching.
   */
  async start(watch = true): Promise<void> {
    for (const file of await graphFilesIn(this.dirs)) this.seen.set(file, { graph: await this.graphHash(file), models: await this.modelStats(file) });
    if (!watch) return;
    for (const dir of [...this.dirs.map((d) => path.resolve(d)), ...this.modelDirs()]) this.watchDir(dir);
    this.timer = setInterval(() => void this.scan(), this.options.scanMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const w of this.watchers.splice(0)) w.close();
  }

  /** Looks at every file now (SIGHUP); resolves once the changes found are loaded or refused. */
  scan(): Promise<void> {
    if (this.scanning !== undefined) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = this.scanOnce()
      .catch((err: unknown) => this.logger.error(`hot reload: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.scanning = undefined;
        if (this.again) {
          this.again = false;
          void this.scan();
        }
      });
    return this.scanning;
  }

  private soon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scan(), this.options.debounceMs);
    this.debounce.unref();
  }

  private async scanOnce(): Promise<void> {
    const files = await graphFilesIn(this.dirs);
    const present = new Set(files);
    const changed: string[] = [];
    for (const file of files) {
      const now = { graph: await this.graphHash(file), models: await this.modelStats(file) };
      const before = this.seen.get(file);
      if (before?.graph === now.graph && before.models === now.models) continue;
      this.logger.log(`hot reload: ${before === undefined ? 'new graph file' : before.graph !== now.graph ? 'changed graph file' : 'changed model of graph file'} ${file}`);
      this.seen.set(file, now);
      changed.push(file);
    }
    for (const file of [...this.seen.keys()].filter((f) => !present.has(f))) {
      this.seen.delete(file);
      this.logger.warn(`hot reload: graph file ${file} was deleted; its versions keep serving until unloaded (DELETE /v1/graphs/{graph}/versions/{version})`);
      this.registry.noteFileProblem(file, 'the graph file was deleted; this version keeps serving until it is unloaded (DELETE /v1/graphs/{graph}/versions/{version}) or the file returns');
    }
    await Promise.all(
      changed.map(async (file) => {
        await this.registry.loadFile(file);
        // Models are known only after a load. The graph's hash stays the one read before it: an edit made
        // during the load is seen by the next scan.
        const seen = this.seen.get(file);
        if (seen !== undefined) seen.models = await this.modelStats(file);
        for (const dir of this.modelDirs()) this.watchDir(dir);
      }),
    );
  }

  private readonly watchedDirs = new Set<string>();

  private watchDir(dir: string): void {
    if (this.watchedDirs.has(dir)) return;
    this.watchedDirs.add(dir);
    try {
      this.watchers.push(watch(dir, { persistent: false }, () => this.soon()));
    } catch (err) {
      this.logger.warn(`hot reload: cannot watch ${dir} (${err instanceof Error ? err.message : String(err)}); the scan every ${this.options.scanMs} ms still sees its changes`);
    }
  }

  private modelDirs(): string[] {
    return this.registry.list().flatMap((e) => (e.graph?.models ?? []).map((m) => path.dirname(m.path)));
  }

  private async graphHash(file: string): Promise<string> {
    return createHash('sha256')
      .update(await readFile(file).catch(() => Buffer.alloc(0)))
      .digest('hex');
  }

  /** The size and mtime of every model the file's served versions load. */
  private async modelStats(file: string): Promise<string> {
    const hash = createHash('sha256');
    for (const e of this.registry.list()) {
      if (e.file !== file) continue;
      for (const m of e.graph?.models ?? []) {
        const s = await stat(m.path).catch(() => undefined);
        hash.update(`\u0000${m.path}:${s?.size ?? -1}:${s?.mtimeMs ?? -1}`);
      }
    }
    return hash.digest('hex');
  }
}
