import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectList, WatchEvent } from './kube.client';
import { KubeApiError } from './kube-api.error';
import type { KubeObject } from './kube.types';
import { ResourceWatcher, type ResourceChange, type ResourceSource } from './resource.watcher';

// Unit spec of the list+watch bookkeeping against a scripted source (the real API server is exercised by
// test/k8s/operator.test.ts).

const object = (name: string, resourceVersion: string): KubeObject => ({ metadata: { name, resourceVersion } });

interface OpenedWatch {
  readonly resourceVersion: string;
  readonly emit: (event: WatchEvent) => void;
  readonly done: (err: KubeApiError | undefined) => void;
}

/** A source whose lists answer from a queue and whose watches the test drives by hand. */
function scriptedSource(lists: ObjectList[]): { source: ResourceSource; watches: OpenedWatch[]; listed: () => number } {
  const watches: OpenedWatch[] = [];
  let listed = 0;
  const source: ResourceSource = {
    list: () => {
      const next = lists[Math.min(listed, lists.length - 1)] as ObjectList;
      listed++;
      return Promise.resolve(next);
    },
    watch: (_resource, _namespace, options, onEvent, done) => {
      watches.push({ resourceVersion: options.resourceVersion, emit: onEvent, done });
      return Promise.resolve({ stop: () => undefined });
    },
  };
  return { source, watches, listed: () => listed };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('ResourceWatcher', () => {
  it('lists, then watches from the list’s resourceVersion and applies the events in order', async () => {
    const { source, watches } = scriptedSource([{ items: [object('a', '5')], resourceVersion: '10' }]);
    const w = new ResourceWatcher(source, 'inferencegraphs', 'ns');
    const changes: string[] = [];
    w.onChange((c: ResourceChange) => changes.push(`${c.type} ${c.object.metadata.name}@${c.object.metadata.resourceVersion ?? ''}`));
    w.start();
    await w.synced();
    await settle();
    assert.equal(watches[0]?.resourceVersion, '10');
    watches[0]?.emit({ type: 'ADDED', object: object('b', '11') });
    watches[0]?.emit({ type: 'MODIFIED', object: object('a', '12') });
    watches[0]?.emit({ type: 'DELETED', object: object('b', '13') });
    assert.deepEqual(changes, ['upsert a@5', 'upsert b@11', 'upsert a@12', 'delete b@13']);
    assert.deepEqual(w.list().map((o) => o.metadata.name), ['a']);
    w.stop();
  });

  it('resumes a dropped or timed-out watch from the last resourceVersion it saw, bookmarks included, without listing again', async () => {
    const { source, watches, listed } = scriptedSource([{ items: [], resourceVersion: '10' }]);
    const w = new ResourceWatcher(source, 'pods', 'ns', { retryMs: 1 });
    w.start();
    await w.synced();
    await settle();
    watches[0]?.emit({ type: 'ADDED', object: object('p', '14') });
    watches[0]?.emit({ type: 'BOOKMARK', object: object('', '20') });
    watches[0]?.done(undefined); // the server ended the watch (timeoutSeconds)
    await settle();
    assert.equal(watches[1]?.resourceVersion, '20');
    watches[1]?.done(new KubeApiError(0, 'socket hang up')); // the connection broke
    await settle();
    assert.equal(watches[2]?.resourceVersion, '20');
    assert.equal(listed(), 1);
    w.stop();
  });

  it('lists again when the version is gone (410), reporting what vanished meanwhile as deleted', async () => {
    const { source, watches, listed } = scriptedSource([
      { items: [object('a', '5'), object('b', '6')], resourceVersion: '10' },
      { items: [object('a', '30')], resourceVersion: '31' },
    ]);
    const w = new ResourceWatcher(source, 'workerpools', 'ns', { retryMs: 1 });
    const changes: string[] = [];
    w.onChange((c) => changes.push(`${c.type} ${c.object.metadata.name}@${c.object.metadata.resourceVersion ?? ''}`));
    w.start();
    await w.synced();
    await settle();
    watches[0]?.emit({ type: 'ERROR', object: { metadata: { name: '' }, code: 410, message: 'too old resource version' } });
    watches[0]?.done(undefined);
    await settle();
    assert.equal(listed(), 2);
    assert.equal(watches[1]?.resourceVersion, '31');
    assert.deepEqual(changes, ['upsert a@5', 'upsert b@6', 'upsert a@30', 'delete b@6']);
    // A 410 as the watch's HTTP status does the same.
    watches[1]?.done(new KubeApiError(410, 'Gone'));
    await settle();
    assert.equal(listed(), 3);
    w.stop();
  });

  it('keeps trying a list that fails, and reports why', async () => {
    let calls = 0;
    const errors: string[] = [];
    const source: ResourceSource = {
      list: () => (++calls < 3 ? Promise.reject(new KubeApiError(503, 'list inferencegraphs: 503 unavailable')) : Promise.resolve({ items: [], resourceVersion: '1' })),
      watch: () => Promise.resolve({ stop: () => undefined }),
    };
    const w = new ResourceWatcher(source, 'inferencegraphs', 'ns', { retryMs: 1, onError: (m) => errors.push(m) });
    // The watcher's retry timer does not hold the process open; the test does.
    const keepAlive = setInterval(() => undefined, 1000);
    w.start();
    await w.synced();
    clearInterval(keepAlive);
    assert.equal(calls, 3);
    assert.match(errors[0] ?? '', /cannot list inferencegraphs: .*503/);
    w.stop();
  });
});
