import type { KubeClient, OpenWatch, WatchEvent } from './kube.client';
import { type KubeApiError } from './kube-api.error';
import type { KubeObject, WatchedResource } from './kube.types';

/** What the watcher needs of the API: a KubeClient, or a fake in unit specs. */
export type ResourceSource = Pick<KubeClient, 'list' | 'watch'>;

/** A change to one object: its new state, or its last state when deleted. */
export type ResourceChange = { readonly type: 'upsert'; readonly object: KubeObject } | { readonly type: 'delete'; readonly object: KubeObject };

export interface ResourceWatcherOptions {
  readonly labelSelector?: string;
  /** Pause after a failed list or a broken watch before trying again. */
  readonly retryMs?: number;
  /** The server ends each watch after about this long; it is re-opened from the last resourceVersion. */
  readonly watchTimeoutSeconds?: number;
  readonly onError?: (message: string) => void;
}

/**
 * A cache of one resource type in one namespace, kept current by list + watch (an informer): it lists,
 * then watches from the list's resourceVersion (with bookmarks), resumes from the last version it saw after
 * a dropped or timed-out watch, and lists again when the server says that version is gone (410). A relist
 * reports the objects that disappeared meanwhile as deletions, so listeners see every change once.
 */
export class ResourceWatcher {
  private readonly objects = new Map<string, KubeObject>();
  private resourceVersion = '';
  private current: OpenWatch | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private listed = false;
  private readonly listeners: ((change: ResourceChange) => void)[] = [];
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: ResourceSource,
    readonly resource: WatchedResource,
    private readonly namespace: string,
    private readonly options: ResourceWatcherOptions = {},
  ) {}

  onChange(listener: (change: ResourceChange) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.current?.stop();
    this.current = undefined;
  }

  /** Resolves once the first list has been applied. */
  synced(): Promise<void> {
    if (this.listed) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(name: string): KubeObject | undefined {
    return this.objects.get(name);
  }

  list(): KubeObject[] {
    return [...this.objects.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let answer;
    try {
      answer = await this.client.list(this.resource, this.namespace, this.options.labelSelector);
    } catch (err) {
      this.fail(`cannot list ${this.resource}: ${messageOf(err)}`, () => this.relist());
      return;
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const object of answer.items) {
      seen.add(object.metadata.name);
      this.upsert(object);
    }
    for (const [name, object] of [...this.objects]) {
      if (seen.has(name)) continue;
      this.objects.delete(name);
      this.emit({ type: 'delete', object });
    }
    this.resourceVersion = answer.resourceVersion;
    if (!this.listed) {
      this.listed = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    await this.watchFrom();
  }

  private async watchFrom(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    const onEvent = (event: WatchEvent): void => {
      switch (event.type) {
        case 'ADDED':
        case 'MODIFIED':
          this.upsert(event.object);
          break;
        case 'DELETED':
          if (this.objects.delete(event.object.metadata.name)) this.emit({ type: 'delete', object: event.object });
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR':
          // The server ends the stream after this; 410: the version is compacted away.
          if (event.object.code === 410) gone = true;
          else this.options.onError?.(`watch ${this.resource}: ${event.object.message ?? 'error event'}`);
          return;
      }
      const version = event.object.metadata?.resourceVersion;
      if (version !== undefined && version !== '') this.resourceVersion = version;
    };
    const done = (err: KubeApiError | undefined): void => {
      this.current = undefined;
      if (this.stopped) return;
      if (gone || err?.status === 410 || this.resourceVersion === '') {
        void this.relist();
        return;
      }
      if (err === undefined) {
        void this.watchFrom(); // a watch that timed out on the server: resume at once
        return;
      }
      this.fail(`watch ${this.resource} broke: ${err.message}`, () => this.watchFrom());
    };
    try {
      this.current = await this.client.watch(
        this.resource,
        this.namespace,
        { resourceVersion: this.resourceVersion, labelSelector: this.options.labelSelector, timeoutSeconds: this.options.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 120) },
        onEvent,
        done,
      );
      if (this.stopped) this.current.stop();
    } catch (err) {
      this.fail(`cannot watch ${this.resource}: ${messageOf(err)}`, () => this.watchFrom());
    }
  }

  private upsert(object: KubeObject): void {
    const previous = this.objects.get(object.metadata.name);
    if (previous !== undefined && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.objects.set(object.metadata.name, object);
    this.emit({ type: 'upsert', object });
  }

  private emit(change: ResourceChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private fail(message: string, again: () => Promise<void>): void {
    if (this.stopped) return;
    this.options.onError?.(message);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void again(), this.options.retryMs ?? 1000);
    this.retry.unref();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
