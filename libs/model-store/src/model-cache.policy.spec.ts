import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressSchedule, chooseEvictions, downloadKeyOf, type CacheEntry } from './model-cache.policy';
import { modelStoreSettingsOf } from './model-store.config';
import { z } from 'zod';
import { modelStoreEnvShape } from './model-store.config';

// Pure-logic unit test: the cache's eviction order, download keys, progress schedule and configuration.
const entry = (sha256: string, sizeBytes: number, lastUsedMs: number, inUse = false): CacheEntry => ({ sha256, sizeBytes, lastUsedMs, inUse });

describe('chooseEvictions', () => {
  const cases: { name: string; entries: CacheEntry[]; max: number; expect: string[] }[] = [
    { name: 'nothing while within the limit', entries: [entry('a', 10, 1), entry('b', 10, 2)], max: 20, expect: [] },
    { name: 'the least recently used first', entries: [entry('new', 10, 3), entry('old', 10, 1), entry('mid', 10, 2)], max: 20, expect: ['old'] },
    { name: 'as many as it takes', entries: [entry('a', 10, 1), entry('b', 10, 2), entry('c', 10, 3)], max: 10, expect: ['a', 'b'] },
    { name: 'never one in use, even the oldest', entries: [entry('held', 10, 1, true), entry('b', 10, 2), entry('c', 10, 3)], max: 20, expect: ['b'] },
    { name: 'every other one when those in use alone exceed the limit', entries: [entry('h1', 30, 1, true), entry('x', 5, 2), entry('h2', 30, 3, true)], max: 20, expect: ['x'] },
    { name: 'ties broken by name, deterministically', entries: [entry('b', 10, 1), entry('a', 10, 1)], max: 10, expect: ['a'] },
  ];
  for (const c of cases) it(`evicts ${c.name}`, () => assert.deepEqual(chooseEvictions(c.entries, c.max), c.expect));
});

describe('downloadKeyOf', () => {
  it('keys a pinned download by its sha256, so two URIs of the same bytes share it', () => {
    const sha = 'f'.repeat(64);
    assert.equal(downloadKeyOf('https://a/m.onnx', sha), sha);
    assert.equal(downloadKeyOf('s3://b/m.onnx', sha), sha);
  });
  it('keys an unpinned one by its URI', () => {
    assert.match(downloadKeyOf('s3://b/m.onnx', undefined), /^uri-[0-9a-f]{64}$/);
    assert.notEqual(downloadKeyOf('s3://b/m.onnx', undefined), downloadKeyOf('s3://b/n.onnx', undefined));
  });
});

describe('ProgressSchedule', () => {
  it('logs each tenth of a large file once', () => {
    const s = new ProgressSchedule(1000, 0, 100, 60_000);
    const due = [50, 99, 100, 150, 230, 240, 1000].filter((r) => s.due(r, 1));
    assert.deepEqual(due, [100, 230, 1000]);
  });
  it('logs on time when the size is unknown', () => {
    const s = new ProgressSchedule(undefined, 0, 100, 5000);
    assert.deepEqual([[500, 1000], [600, 4000], [700, 6001], [800, 7000]].filter(([r, t]) => s.due(r ?? 0, t ?? 0)).map(([r]) => r), [700]);
  });
  it('stays quiet for small files', () => {
    const s = new ProgressSchedule(99, 0, 100, 0);
    assert.equal(s.due(99, 10_000), false);
  });
});

describe('model store configuration', () => {
  const parse = (env: Record<string, string>) => modelStoreSettingsOf(z.object(modelStoreEnvShape).parse(env), '/srv');
  it('defaults the cache under the working directory, http off, AWS endpoints', () => {
    const { settings, problems } = parse({});
    assert.deepEqual(problems, []);
    assert.equal(settings.cacheDir, '/srv/.infergraph/cache/models');
    assert.equal(settings.allowHttp, false);
    assert.deepEqual({ ...settings.s3 }, { endpoint: undefined, forcePathStyle: false, region: undefined });
  });
  it('refuses a plain-http S3 endpoint off loopback and an unreadable CA file, naming the variables', () => {
    const { problems } = parse({ S3_ENDPOINT: 'http://s3.internal:9000', MODEL_CA_FILE: '/nonexistent/ca.pem' });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^MODEL_CA_FILE="\/nonexistent\/ca.pem": cannot be read/);
    assert.match(problems[1] ?? '', /^S3_ENDPOINT="http:\/\/s3.internal:9000": plain http is allowed only to a loopback host/);
  });
  it('takes a loopback http endpoint with path-style addressing', () => {
    const { settings, problems } = parse({ S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true', S3_REGION: 'eu-west-1' });
    assert.deepEqual(problems, []);
    assert.deepEqual({ ...settings.s3 }, { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'eu-west-1' });
  });
});
