import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { FetchedModel, ModelFetcher } from '@infergraph/engine';
import { parseModelUri, type RemoteModelUri } from '@infergraph/spec';
import { HttpsObjectSource } from './https-object.source';
import { S3ObjectSource, type S3Connection } from './s3-object.source';
import type { ObjectSource } from './object-source.port';
import { downloadObject } from './object.downloader';
import { chooseEvictions, downloadKeyOf, mebibytes, uriRecordKeyOf } from './model-cache.policy';
import { isLoopbackHost } from '@infergraph/protocol';
import type { ModelStoreSettings } from './model-store.config';
import { withFileLock } from './file.lock';
import { trustedCertificates } from './trusted-ca';
import { readJsonFile } from './json-file';

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
        const record = await readJsonFile<UriRecord>(recordFile);
        if (record !== undefined && (await isFile(this.pathOf(record.sha256)))) {
          const now = await source.describe(AbortSignal.timeout(this.idleTimeoutMs));
          if (now.validator !== undefined && now.validator === record.validator && now.sizeBytes === record.sizeBytes) {
            this.stats.hits++;
            return record.sha256;
          }
        }
      }
      const done = await downloadObject(source, {
        part: path.join(this.dirs.partial, `${key}.part`),
        meta: path.join(this.dirs.partial, `${key}.json`),
        finalPath: (sha256) => this.pathOf(sha256),
        pinned,
        label,
        maxBytes: this.options.settings.downloadMaxBytes,
        attempts: this.options.attempts ?? 4,
        progressMinBytes: this.options.progressMinBytes ?? 32 * 1024 ** 2,
        progressEveryMs: this.options.progressEveryMs ?? 5000,
        logger: this.options.logger,
        stats: this.stats,
      });
      if (pinned === undefined) await writeFile(recordFile, JSON.stringify({ uri, sha256: done.sha256, validator: done.validator, sizeBytes: done.sizeBytes } satisfies UriRecord));
      return done.sha256;
    });
    this.fresh.add(sha256);
    await this.evict();
    return sha256;
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

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() === true;
}

