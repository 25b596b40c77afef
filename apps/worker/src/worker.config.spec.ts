import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadWorkerConfig } from './worker.config';

// Unit test of configuration parsing: the Kafka producer's linger.

describe('worker configuration: KAFKA_LINGER_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-worker-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is 0 by default and kept when set', () => {
    assert.equal(loadWorkerConfig({}, dir).kafka.lingerMs, 0);
    assert.equal(loadWorkerConfig({ KAFKA_LINGER_MS: '20' }, dir).kafka.lingerMs, 20);
  });

  it('is refused when negative, fractional or above a second, naming the variable', () => {
    for (const bad of ['-1', '0.5', '5000', 'soon']) assert.throws(() => loadWorkerConfig({ KAFKA_LINGER_MS: bad }, dir), /KAFKA_LINGER_MS/, bad);
  });
});
