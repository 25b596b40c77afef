import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadGatewayConfig } from './gateway.config';

// Unit test of configuration parsing: NODE_TLS_SERVER_NAME, the name workers' shared certificate carries.

describe('gateway configuration: NODE_TLS_SERVER_NAME', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  // The project's own certificate script (tests run from the repository root).
  execFileSync(process.execPath, [path.resolve(process.env['INFERGRAPH_ROOT'] ?? '.', 'scripts', 'certs.mjs'), '--out', dir, 'gateway'], { encoding: 'utf8' });
  const tls = { NODE_TLS_CA: path.join(dir, 'ca.crt'), NODE_TLS_CERT: path.join(dir, 'gateway.crt'), NODE_TLS_KEY: path.join(dir, 'gateway.key') };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is kept with NODE_TLS_* and absent by default', () => {
    assert.equal(loadGatewayConfig({ ...tls, NODE_TLS_SERVER_NAME: 'infergraph-worker' }, dir).nodeTlsServerName, 'infergraph-worker');
    assert.equal(loadGatewayConfig({ ...tls }, dir).nodeTlsServerName, undefined);
  });

  it('is refused without NODE_TLS_* (it is checked on TLS node calls only), naming the variables', () => {
    assert.throws(() => loadGatewayConfig({ NODE_TLS_SERVER_NAME: 'infergraph-worker' }, dir), /NODE_TLS_SERVER_NAME is set without NODE_TLS_CA\/CERT\/KEY/);
  });

  it('is refused when it is not a DNS name, naming the variable', () => {
    assert.throws(() => loadGatewayConfig({ ...tls, NODE_TLS_SERVER_NAME: 'Not A Name' }, dir), /NODE_TLS_SERVER_NAME/);
  });
});

describe('gateway configuration: KAFKA_LINGER_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is 0 by default and kept when set', () => {
    assert.equal(loadGatewayConfig({}, dir).kafka.lingerMs, 0);
    assert.equal(loadGatewayConfig({ KAFKA_LINGER_MS: '5' }, dir).kafka.lingerMs, 5);
  });

  it('is refused when negative, fractional or above a second, naming the variable', () => {
    for (const bad of ['-1', '2.5', '1001', 'soon']) assert.throws(() => loadGatewayConfig({ KAFKA_LINGER_MS: bad }, dir), /KAFKA_LINGER_MS/, bad);
  });
});

describe('gateway configuration: SHUTDOWN_DELAY_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is 0 by default (a laptop gateway closes at once) and kept when set', () => {
    assert.equal(loadGatewayConfig({}, dir).http.shutdownDelayMs, 0);
    assert.equal(loadGatewayConfig({ SHUTDOWN_DELAY_MS: '5000' }, dir).http.shutdownDelayMs, 5000);
  });

  it('is refused when negative, fractional or above ten minutes, naming the variable', () => {
    for (const bad of ['-1', '2.5', '600001', 'later']) assert.throws(() => loadGatewayConfig({ SHUTDOWN_DELAY_MS: bad }, dir), /SHUTDOWN_DELAY_MS/, bad);
  });
});

describe('gateway configuration: NODE_PING_INTERVAL_MS and NODE_PING_TIMEOUT_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pings every second and gives a worker 5 s (the controller heartbeat timeout) by default, and keeps what is set', () => {
    assert.deepEqual(loadGatewayConfig({}, dir).nodePing, { intervalMs: 1000, timeoutMs: 5000 });
    assert.deepEqual(loadGatewayConfig({ NODE_PING_INTERVAL_MS: '500', NODE_PING_TIMEOUT_MS: '1500' }, dir).nodePing, { intervalMs: 500, timeoutMs: 1500 });
  });

  it('is refused below 100 ms, above ten minutes or not a whole number, naming the variable', () => {
    for (const name of ['NODE_PING_INTERVAL_MS', 'NODE_PING_TIMEOUT_MS']) {
      for (const bad of ['0', '99', '600001', '1.5', 'often']) assert.throws(() => loadGatewayConfig({ [name]: bad }, dir), new RegExp(name), `${name}=${bad}`);
    }
  });
});

describe('gateway configuration: HEADERS_TIMEOUT_MS against REQUEST_TIMEOUT_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses headers given longer than the whole request, naming both variables and their values', () => {
    assert.throws(() => loadGatewayConfig({ REQUEST_TIMEOUT_MS: '5000' }, dir), /HEADERS_TIMEOUT_MS=10000 is longer than REQUEST_TIMEOUT_MS=5000/);
    assert.throws(() => loadGatewayConfig({ HEADERS_TIMEOUT_MS: '130000' }, dir), /HEADERS_TIMEOUT_MS=130000 is longer than REQUEST_TIMEOUT_MS=120000/);
  });

  it('takes a shorter request timeout with headers within it, and equal ones', () => {
    const c = loadGatewayConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '2000' }, dir).http;
    assert.deepEqual([c.requestTimeoutMs, c.headersTimeoutMs], [5000, 2000]);
    assert.equal(loadGatewayConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '5000' }, dir).http.headersTimeoutMs, 5000);
  });
});

describe('gateway configuration: KAFKA_STREAM_THREAD', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is auto by default, and true or false when set so', () => {
    assert.equal(loadGatewayConfig({}, dir).kafka.streamThread, 'auto');
    assert.equal(loadGatewayConfig({ KAFKA_STREAM_THREAD: 'false' }, dir).kafka.streamThread, false);
    assert.equal(loadGatewayConfig({ KAFKA_STREAM_THREAD: 'true' }, dir).kafka.streamThread, true);
  });

  it('is refused when not auto, true or false, naming the variable', () => {
    for (const bad of ['yes', '1', 'off']) assert.throws(() => loadGatewayConfig({ KAFKA_STREAM_THREAD: bad }, dir), /KAFKA_STREAM_THREAD/, bad);
  });
});

describe('gateway configuration: KAFKA_SESSION_TIMEOUT_MS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is 10 s by default (not kafkajs\' 30 s) and kept when set', () => {
    assert.equal(loadGatewayConfig({}, dir).kafka.sessionTimeoutMs, 10_000);
    assert.equal(loadGatewayConfig({ KAFKA_SESSION_TIMEOUT_MS: '45000' }, dir).kafka.sessionTimeoutMs, 45_000);
  });

  it('is refused outside what a broker accepts by default (6 s to 5 min here), naming the variable', () => {
    for (const bad of ['5999', '300001', '7.5', 'soon']) assert.throws(() => loadGatewayConfig({ KAFKA_SESSION_TIMEOUT_MS: bad }, dir), /KAFKA_SESSION_TIMEOUT_MS/, bad);
  });
});

describe('gateway configuration: MODEL_THREADS and MODEL_THREAD_MIN_BYTES', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('puts models of 1 MiB and more in a model thread by default, and keeps what is set', () => {
    const defaults = loadGatewayConfig({}, dir);
    assert.equal(defaults.modelThreads, 'auto');
    assert.equal(defaults.modelThreadMinBytes, 1024 * 1024);
    const set = loadGatewayConfig({ MODEL_THREADS: '3', MODEL_THREAD_MIN_BYTES: '65536' }, dir);
    assert.equal(set.modelThreads, 3);
    assert.equal(set.modelThreadMinBytes, 65536);
    assert.equal(loadGatewayConfig({ MODEL_THREADS: '0' }, dir).modelThreads, 0);
  });

  it('refuses a thread count that is not auto or a whole number, and a size below one byte, naming the variable', () => {
    assert.throws(() => loadGatewayConfig({ MODEL_THREADS: 'many' }, dir), /MODEL_THREADS/);
    assert.throws(() => loadGatewayConfig({ MODEL_THREADS: '-1' }, dir), /MODEL_THREADS/);
    assert.throws(() => loadGatewayConfig({ MODEL_THREAD_MIN_BYTES: '0' }, dir), /MODEL_THREAD_MIN_BYTES/);
    assert.throws(() => loadGatewayConfig({ MODEL_THREAD_MIN_BYTES: '1.5' }, dir), /MODEL_THREAD_MIN_BYTES/);
  });
});

describe('gateway configuration: SERVING_PROCESSES', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // The loader keeps TLS_CERT and TLS_KEY as paths (the server reads them), so no files are needed here.
  const tls = { TLS_CERT: 'gateway.crt', TLS_KEY: 'gateway.key' };

  it('is 1 (this process alone) by default, and kept when set', () => {
    assert.equal(loadGatewayConfig({}, dir).servingProcesses, 1);
    assert.equal(loadGatewayConfig({ SERVING_PROCESSES: '3' }, dir).servingProcesses, 3);
    assert.equal(loadGatewayConfig({ SERVING_PROCESSES: '64' }, dir).servingProcesses, 64);
  });

  it('is one per core with auto, at most 64', () => {
    assert.equal(loadGatewayConfig({ SERVING_PROCESSES: 'auto' }, dir).servingProcesses, Math.min(64, availableParallelism()));
  });

  it('is refused below 1, above 64 or not a whole number, naming the variable', () => {
    for (const bad of ['0', '65', '1.5', 'two']) assert.throws(() => loadGatewayConfig({ SERVING_PROCESSES: bad }, dir), /SERVING_PROCESSES/, bad);
  });

  it('is refused above 1 with what serving processes cannot share yet, naming both variables', () => {
    const cases: { env: NodeJS.ProcessEnv; other: RegExp }[] = [
      { env: tls, other: /SERVING_PROCESSES=2: TLS_CERT/ },
      { env: { CONTROLLER: '127.0.0.1:9090' }, other: /SERVING_PROCESSES=2: CONTROLLER/ },
      { env: { NODE_TRANSPORT: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092' }, other: /SERVING_PROCESSES=2: NODE_TRANSPORT=kafka/ },
      { env: { NODE_TRANSPORT: 'grpc', WORKERS: '127.0.0.1:50051' }, other: /SERVING_PROCESSES=2: NODE_TRANSPORT=grpc/ },
    ];
    for (const c of cases) {
      assert.throws(() => loadGatewayConfig({ ...c.env, SERVING_PROCESSES: '2' }, dir), c.other, JSON.stringify(c.env));
      // The same settings with one process are fine.
      assert.equal(loadGatewayConfig({ ...c.env, SERVING_PROCESSES: '1' }, dir).servingProcesses, 1, JSON.stringify(c.env));
    }
  });

  it('takes TLS with a single process', () => {
    const config = loadGatewayConfig({ ...tls, SERVING_PROCESSES: '1' }, dir);
    assert.equal(config.servingProcesses, 1);
    assert.deepEqual(config.tls, { certFile: path.join(dir, 'gateway.crt'), keyFile: path.join(dir, 'gateway.key'), reloadMs: 10_000 });
  });
});
