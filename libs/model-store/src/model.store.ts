import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { FetchedModel, ModelFetcher } from '@infergraph/engine';
import { parseModelUri, type RemoteModelUri } from '@infergraph/spec';
import { HttpsObjectSource } from './https-object.source';
import { S3ObjectSource, type S3Connection } from './s3-object.source';
import { ObjectSourceError, type ObjectSource } from './object-source.port';
import { ProgressSchedule, chooseEvictions, downloadKeyOf, mebibytes, uriRecordKeyOf } from './model-cache.policy';
import { isLoopbackHost, type ModelStoreSettings } from './model-store.config';
import { withFileLock } from './file.lock';
import { trustedCertificates } from './trusted-ca';

export interface ModelStoreLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface ModelStoreOptions {
  readonly settings: ModelStoreSettings;
  readonly logger: ModelStoreLogger;
  /** Progress lines only for files at least this large (default 32 MiB)... */
  readonly progressMinBytes?: number;
  /** ...each tenth, or this often (default 5 s). */
  readonly progressEveryMs?: number;
  /** Tries of one download, each resuming the last (default 4). */
  readonly attempts?: number;
  /** A server silent this long fails the try (default 30 s). */
  readonly idleTimeoutMs?: number;
}

/** What this process did, for tests and logs. */
export interface ModelStoreStats {
  /** Downloads started (the first try of each). */
  downloads: number;
  /** Tries that continued a partial file with a range request. */
  resumed: number;
  /** Fetches answered from the cache without a download. */
  hits: number;
  evicted: number;
}

/** The uri → content record of an object no sha256 pins (s3:// only): reused while its ETag and size hold. */
interface UriRecord {
  readonly uri: string;
  readonly sha256: string;
  readonly validator: string | undefined;
  readonly sizeBytes: number;
}

/**
 * https:// and s3:// models in a content-addressed local cache (`<dir>/sha256/<hex>`): downloaded once
 * (shared by concurrent requests in this process, a lock file across processes), into a temporary name,
 * resumed with a range request after an interruption, verified, then renamed into place. Entries held by
 * loaded graphs are never evicted; others go least recently used first past the size limit.
 */
export class ModelStore implements ModelFetcher {
  readonly stats: ModelStoreStats = { downloads: 0, resumed: 0, hits: 0, evicted: 0 };
  private readonly downloading = new Map<string, Promise<string>>();
  private readonly holds = new Map<string, number>();
  /** Downloaded, not yet held by the fetch that asked: protected from a concurrent eviction. */
  private readonly fresh = new Set<string>();
  private s3: Promise<S3Connection> | undefined;
  private readonly dirs: { blobs: string; partial: string; locks: string; uris: string };

  constructor(private readonly options: ModelStoreOptions) {
    const root = options.settings.cacheDir;
    this.dirs = { blobs: path.join(root, 'sha256'), partial: path.join(root, 'partial'), locks: path.join(root, 'locks'), uris: path.join(root, 'uris') };
  }

  get cacheDir(): string {
    return this.options.settings.cacheDir;
  }

  /** The cached file of a sha256 (whether present or not). */
  pathOf(sha256: string): string {
    return path.join(this.dirs.blobs, sha256);
  }

  check(uri: string): string | undefined {
    const parsed = parseModelUri(uri);
    if ('error' in parsed) return parsed.error;
    if (parsed.scheme === 'http') return this.refuseHttp(parsed.url);
    return undefined;
  }

  async fetch(uri: string, options: { readonly sha256?: string | undefined; readonly label: string }): Promise<FetchedModel> {
    const problem = this.check(uri);
    if (problem !== undefined) throw new Error(problem);
    const parsed = parseModelUri(uri) as RemoteModelUri;
    const pinned = options.sha256;
    if (pinned !== undefined) {
      const cached = await this.holdIfCached(pinned);
      if (cached !== undefined) {
        this.stats.hits++;
        return cached;
      }
    }
    // Twice at most: a file evicted between its download (or record check) and this hold is fetched again.
    for (let round = 1; ; round++) {
      const key = downloadKeyOf(uri, pinned);
      let shared = this.downloading.get(key);
      if (shared === undefined) {
        shared = this.obtain(uri, parsed, pinned, options.label).finally(() => this.downloading.delete(key));
        this.downloading.set(key, shared);
      }
      const sha256 = await shared;
      const held = await this.holdIfCached(sha256);
      this.fresh.delete(sha256);
      if (held !== undefined) return held;
      if (round === 2) throw new Error(`the cached file ${this.pathOf(sha256)} disappeared twice while loading`);
    }
  }

  /** Deletes least recently used entries no graph holds until the cache is within MODEL_CACHE_MAX_BYTES. */
  evict(): Promise<string[]> {
    // One eviction at a time: a hold taken while one runs waits for it, then finds its file or not.
    const run = this.evicting.then(() => this.evictNow());
    this.evicting = run.catch(() => undefined);
    return run;
  }

  private evicting: Promise<unknown> = Promise.resolve();

  private async evictNow(): Promise<string[]> {
    const names = await readdir(this.dirs.blobs).catch(() => [] as string[]);
    const entries = [];
    for (const name of names) {
      const s = await stat(path.join(this.dirs.blobs, name)).catch(() => undefined);
      if (s?.isFile() !== true) continue;
      entries.push({ sha256: name, sizeBytes: s.size, lastUsedMs: s.mtimeMs, inUse: this.holds.has(name) || this.fresh.has(name) });
    }
    const victims = chooseEvictions(entries, this.options.settings.cacheMaxBytes);
    for (const sha256 of victims) {
      await rm(this.pathOf(sha256), { force: true });
      this.stats.evicted++;
      this.options.logger.log(`model cache: evicted ${sha256} (least recently used, no graph holds it; limit ${mebibytes(this.options.settings.cacheMaxBytes)})`);
    }
    const total = entries.filter((e) => !victims.includes(e.sha256)).reduce((sum, e) => sum + e.sizeBytes, 0);
    if (total > this.options.settings.cacheMaxBytes) {
      this.options.logger.warn(`model cache ${this.cacheDir} holds ${mebibytes(total)}, over MODEL_CACHE_MAX_BYTES (${mebibytes(this.options.settings.cacheMaxBytes)}): every entry left is in use`);
    }
    return victims;
  }

  /** Holds the cached file of `sha256` when it is there; undefined (and nothing held) when not. */
  private async holdIfCached(sha256: string): Promise<FetchedModel | undefined> {
    const file = this.pathOf(sha256);
    // Held before looking, so that no eviction deciding from now on can take it.
    this.holds.set(sha256, (this.holds.get(sha256) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (this.holds.get(sha256) ?? 1) - 1;
      if (left > 0) this.holds.set(sha256, left);
      else this.holds.delete(sha256);
    };
    await this.evicting;
    if (!(await isFile(file))) {
      release();
      return undefined;
    }
    // Least recently used is by mtime, so that the order survives restarts.
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    return { path: file, sha256, release };
  }

  private async obtain(uri: string, parsed: RemoteModelUri, pinned: string | undefined, label: string): Promise<string> {
    await Promise.all(Object.values(this.dirs).map((d) => mkdir(d, { recursive: true })));
    const key = downloadKeyOf(uri, pinned);
    const sha256 = await withFileLock(path.join(this.dirs.locks, `${key}.lock`), async () => {
      // Another process may have finished it while this one waited for the lock.
      if (pinned !== undefined && (await isFile(this.pathOf(pinned)))) return pinned;
      const source = await this.sourceOf(uri, parsed);
      const recordFile = path.join(this.dirs.uris, `${uriRecordKeyOf(uri)}.json`);
      if (pinned === undefined && source.describe !== undefined) {
        const record = await readJson<UriRecord>(recordFile);
        if (record !== undefined && (await isFile(this.pathOf(record.sha256)))) {
          const now = await source.describe(AbortSignal.timeout(this.idleTimeoutMs));
          if (now.validator !== undefined && now.validator === record.validator && now.sizeBytes === record.sizeBytes) {
            this.stats.hits++;
            return record.sha256;
          }
        }
      }
      const done = await this.download(source, key, pinned, label);
      if (pinned === undefined) await writeFile(recordFile, JSON.stringify({ uri, sha256: done.sha256, validator: done.validator, sizeBytes: done.sizeBytes } satisfies UriRecord));
      return done.sha256;
    });
    this.fresh.add(sha256);
    await this.evict();
    return sha256;
  }

  private async download(source: ObjectSource, key: string, pinned: string | undefined, label: string): Promise<{ sha256: string; validator: string | undefined; sizeBytes: number }> {
    const part = path.join(this.dirs.partial, `${key}.part`);
    const meta = path.join(this.dirs.partial, `${key}.json`);
    const max = this.options.settings.downloadMaxBytes;
    const attempts = this.options.attempts ?? 4;
    const log = this.options.logger;
    this.stats.downloads++;
    let restartedAfterMismatch = false;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const held = (await stat(part).catch(() => undefined))?.size ?? 0;
      const saved = held > 0 ? await readJson<{ uri: string; validator?: string }>(meta) : undefined;
      // Bytes of unknown origin are not continued.
      const offset = saved?.uri === source.uri ? held : 0;
      // The file is open before the request: the body is read from the moment it arrives (a connection that
      // drops discards what its stream still buffers, so nothing waits between the answer and the reading).
      const handle = await open(part, held > 0 ? 'r+' : 'w');
      let opened;
      try {
        opened = await source.open(offset, saved?.validator, new AbortController().signal);
      } catch (err) {
        await handle.close();
        if (err instanceof ObjectSourceError && err.permanent) throw err;
        lastError = asError(err);
        if (offset > 0) await rm(part, { force: true });
        log.warn(`model ${source.uri} for ${label}: try ${attempt}/${attempts} failed: ${lastError.message}`);
        continue;
      }
      const start = opened.resumed ? offset : 0;
      if (attempt === 1 && !opened.resumed) {
        log.log(`model ${source.uri} for ${label}: downloading${opened.totalBytes === undefined ? '' : ` ${mebibytes(opened.totalBytes)}`} into ${this.cacheDir}`);
      }
      const tooLarge = opened.totalBytes !== undefined && opened.totalBytes > max;
      const first = async (): Promise<void> => {
        if (start === 0 && held > 0) await handle.truncate(0);
        await writeFile(meta, JSON.stringify({ uri: source.uri, ...(opened.validator === undefined ? {} : { validator: opened.validator }) }));
      };
      if (tooLarge) {
        opened.body.destroy();
        await handle.close();
        await rm(part, { force: true });
        throw new Error(`the object is ${opened.totalBytes} bytes, over MODEL_DOWNLOAD_MAX_BYTES (${max})`);
      }
      try {
        await this.receive(opened.body, handle, first, start, opened.totalBytes, max, `model ${source.uri} for ${label}`);
      } catch (err) {
        lastError = asError(err);
        if (lastError instanceof DownloadLimitError) {
          await rm(part, { force: true });
          await rm(meta, { force: true });
          throw lastError;
        }
        log.warn(`model ${source.uri} for ${label}: interrupted (${lastError.message}); ${attempt < attempts ? 'resuming' : 'giving up'} (try ${attempt}/${attempts})`);
        continue;
      }
      if (opened.resumed) {
        this.stats.resumed++;
        log.log(`model ${source.uri} for ${label}: resumed at ${mebibytes(start)} (range request)`);
      }
      const sizeBytes = (await stat(part)).size;
      if (opened.totalBytes !== undefined && sizeBytes !== opened.totalBytes) {
        lastError = new Error(`received ${sizeBytes} of ${opened.totalBytes} bytes`);
        continue;
      }
      const sha256 = await sha256Of(part);
      if (pinned !== undefined && sha256 !== pinned) {
        await rm(part, { force: true });
        await rm(meta, { force: true });
        // A resumed file may join two versions of the object: once, start over before blaming the source.
        if (opened.resumed && !restartedAfterMismatch) {
          restartedAfterMismatch = true;
          log.warn(`model ${source.uri} for ${label}: sha256 mismatch after a resumed download; downloading it whole once more`);
          continue;
        }
        throw new Error(`sha256 mismatch: expected ${pinned}, got ${sha256} (${sizeBytes} bytes)`);
      }
      await chmod(part, 0o444);
      await rename(part, this.pathOf(sha256));
      await rm(meta, { force: true });
      log.log(`model ${source.uri} for ${label}: verified sha256 ${sha256} (${mebibytes(sizeBytes)})`);
      return { sha256, validator: opened.validator, sizeBytes };
    }
    throw new Error(`download failed after ${attempts} tries: ${lastError?.message ?? 'unknown error'}`);
  }

  private async receive(
    body: Readable,
    handle: FileHandle,
    first: () => Promise<void>,
    start: number,
    total: number | undefined,
    max: number,
    what: string,
  ): Promise<void> {
    // Chunks are taken as they come and written in order at their offsets (after `first`); reading waits
    // only while 8 MiB are not on disk yet. What arrived before a failure stays for the next try.
    const schedule = new ProgressSchedule(total, Date.now(), this.options.progressMinBytes ?? 32 * 1024 ** 2, this.options.progressEveryMs ?? 5000);
    let received = start;
    let written: Promise<void> = first();
    let unwrittenBytes = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (received + chunk.length > max) throw new DownloadLimitError(`stopped at ${received + chunk.length} bytes: over MODEL_DOWNLOAD_MAX_BYTES (${max})`);
        const position = received;
        received += chunk.length;
        unwrittenBytes += chunk.length;
        written = written.then(async () => {
          await handle.write(chunk, 0, chunk.length, position);
          unwrittenBytes -= chunk.length;
        });
        if (unwrittenBytes > WRITE_AHEAD_BYTES) await written;
        const now = Date.now();
        if (schedule.due(received, now)) this.options.logger.log(`${what}: ${schedule.describe(received, now)}`);
      }
    } finally {
      body.destroy();
      try {
        await written;
      } finally {
        await handle.close();
      }
    }
  }

  private async sourceOf(uri: string, parsed: RemoteModelUri): Promise<ObjectSource> {
    if (parsed.scheme === 's3') return new S3ObjectSource(uri, await this.s3Connection(), parsed.bucket, parsed.key);
    return new HttpsObjectSource(uri, {
      extraCa: this.options.settings.extraCa,
      refuse: (url) => (url.protocol === 'https:' ? undefined : url.protocol === 'http:' ? this.refuseHttp(url) : `redirect to ${url.protocol} refused`),
      idleTimeoutMs: this.idleTimeoutMs,
    });
  }

  private refuseHttp(url: URL): string | undefined {
    if (!this.options.settings.allowHttp) return `plain http:// models are refused (MODEL_ALLOW_HTTP=true allows them, to loopback hosts only); use https://`;
    if (!isLoopbackHost(url.hostname)) return `plain http:// is allowed to loopback hosts only, not ${url.hostname}; use https://`;
    return undefined;
  }

  private s3Connection(): Promise<S3Connection> {
    const s3 = this.options.settings.s3;
    const ca = trustedCertificates(this.options.settings.extraCa);
    this.s3 ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        // An S3-compatible store ignores the region, but the SDK needs one to sign.
        ...(s3.region !== undefined ? { region: s3.region } : s3.endpoint !== undefined ? { region: 'us-east-1' } : {}),
        ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
        forcePathStyle: s3.forcePathStyle,
        // Checksums only where asked for (whole objects, see S3ObjectSource): some stores send the whole object's on a range.
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: {
          connectionTimeout: this.idleTimeoutMs,
          requestTimeout: this.idleTimeoutMs,
          ...(ca === undefined ? {} : { httpsAgent: new https.Agent({ ca }) }),
        },
      }),
    }));
    return this.s3;
  }

  private get idleTimeoutMs(): number {
    return this.options.idleTimeoutMs ?? 30_000;
  }

  /** Closes the S3 client's sockets. */
  close(): void {
    void this.s3?.then((s3) => s3.client.destroy());
  }
}

class DownloadLimitError extends Error {}

/** Bytes read ahead of the disk before reading waits. */
const WRITE_AHEAD_BYTES = 8 * 1024 ** 2;

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() === true;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
