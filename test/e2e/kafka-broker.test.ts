import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { repoPath } from '../support/repo';

// Real parts: the project's broker script starting a real Apache Kafka broker (JVM) next to whatever listens on
// 19092 (a developer's `npm run kafka:start`, or a plain TCP listener this test holds there), and kafkajs.

const DEVELOPER_PORT = 19092;
const script = repoPath('scripts', 'kafka', 'broker.mjs');

function broker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: repoPath(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the test broker beside a developer broker on 19092', () => {
  let holder: net.Server | undefined;
  let address = '';

  before(async () => {
    // Something must occupy 19092 for the test to mean anything: the developer's broker, or this listener.
    if (!(await listening(DEVELOPER_PORT))) {
      holder = net.createServer((s) => s.destroy());
      await new Promise<void>((resolve) => holder?.listen(DEVELOPER_PORT, '127.0.0.1', resolve));
    }
  });

  after(async () => {
    if (address !== '') broker('stop', '--port', address.split(':')[1] ?? '');
    await new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve()));
  });

  it('starts a second broker on ports the OS picks, serves a topic there, and stops only that one', async () => {
    const started = broker('start', '--free-port');
    assert.equal(started.status, 0, started.stderr);
    address = started.stdout.trim().split('\n').pop() ?? '';
    const port = Number(address.split(':')[1]);
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(port, DEVELOPER_PORT);
    assert.ok(existsSync(repoPath('.cache', 'kafka', 'brokers', String(port), 'broker.pid')), 'the broker keeps its own state directory');

    const kafka = new Kafka({ clientId: 'infergraph-test', brokers: [address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'side-by-side', numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'side-by-side', acks: -1, messages: [{ key: 'k', value: 'v' }] });
    const offsets = await admin.fetchTopicOffsets('side-by-side');
    assert.deepEqual(offsets.map((o) => o.high), ['1']);
    await producer.disconnect();
    await admin.disconnect();

    const stopped = broker('stop', '--port', String(port));
    assert.equal(stopped.status, 0, stopped.stderr);
    address = '';
    assert.equal(await listening(port), false, 'the picked-port broker is gone');
    assert.equal(existsSync(repoPath('.cache', 'kafka', 'brokers', String(port))), false, 'its state directory is removed');
    assert.equal(await listening(DEVELOPER_PORT), true, 'whatever listened on 19092 still does');
  });
});
