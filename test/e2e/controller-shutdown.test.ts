import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { startController } from '../support/controller.process';

// End to end: a real controller process stopped with SIGTERM while an admin request is in flight on a
// kept-alive connection (its body still arriving). The answer ends the connection, and the process exits at
// once instead of after Fastify's 72 s keep-alive timeout: a leader must hand over within its grace period.

describe('controller shutdown', () => {
  it('answers an admin request in flight at SIGTERM with Connection: close and exits within seconds of it', async () => {
    const controller = await startController();
    const exited = new Promise<number>((resolve) => controller.process.once('exit', () => resolve(performance.now())));
    const port = Number(new URL(controller.base).port);
    const body = 'not: [a graph';
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const answered = new Promise<number>((resolve) => socket.on('data', (chunk: Buffer) => ((answer += chunk.toString()), resolve(performance.now()))));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /v1/graphs HTTP/1.1\r\nHost: controller\r\nContent-Type: application/yaml\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((r) => setTimeout(r, 200));
    controller.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    socket.write(body.slice(5));
    const answeredAt = await answered;
    assert.match(answer, /^HTTP\/1\.1 400 /, answer);
    assert.match(answer, /\r\nconnection: close\r\n/i, 'the answer given while stopping ends its kept-alive connection');
    const exitedAt = await exited;
    socket.destroy();
    assert.ok(exitedAt - answeredAt < 5000, `exited ${exitedAt - answeredAt} ms after its last answer (the keep-alive timeout is 72 s)`);
  });
});
