import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkerMessage } from '@infergraph/protocol';
import { ControlClient } from '@infergraph/transport-grpc';
import { startController, type RunningController } from '../support/controller.process';

// End to end: a real controller process and hostile control-plane clients over real gRPC on loopback.
// Malformed hellos are refused with a reason in the log and the stream closed; the controller keeps running
// and never records such a worker.

/** Opens a Join stream, sends `message`, and resolves with the status the controller ended it with (or after 3 s). */
function joinWith(controller: RunningController, message: WorkerMessage): Promise<{ code: number; details: string } | 'ended' | 'still open'> {
  const client = new ControlClient(controller.control);
  const stream = client.join();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stream.cancel();
      client.close();
      resolve('still open');
    }, 3000);
    stream.on('end', () => {
      clearTimeout(timer);
      client.close();
      resolve('ended');
    });
    stream.on('error', (err: Error & { code?: number; details?: string }) => {
      clearTimeout(timer);
      client.close();
      resolve({ code: err.code ?? -1, details: err.details ?? err.message });
    });
    stream.on('data', () => undefined);
    stream.write(message);
  });
}

describe('control plane under malformed messages', () => {
  let controller: RunningController;
  before(async () => {
    controller = await startController(undefined, { GRAPHS_DIR: 'test/fixtures/graphs-faults', SYNC_WINDOW_MS: '200' });
  });
  after(() => {
    controller?.process.kill('SIGKILL');
  });

  const hostile: { name: string; message: WorkerMessage; logged: RegExp }[] = [
    { name: 'a hello without capacity', message: { hello: { worker_id: 'evil-1', pool: 'cpu', address: '127.0.0.1:1', capacity: null } }, logged: /hello: capacity/ },
    {
      name: 'a hello with cpu NaN',
      message: { hello: { worker_id: 'evil-2', pool: 'cpu', address: '127.0.0.1:1', capacity: { cpu: Number.NaN, memory: '1', gpu_count: 0, gpu_memory: '0' } } },
      logged: /hello: capacity\.cpu: must be a finite number >= 0, got NaN/,
    },
    {
      name: 'a hello with infinite cpu',
      message: { hello: { worker_id: 'evil-3', pool: 'cpu', address: '127.0.0.1:1', capacity: { cpu: Number.POSITIVE_INFINITY, memory: '1', gpu_count: 0, gpu_memory: '0' } } },
      logged: /hello: capacity\.cpu: must be a finite number >= 0, got Infinity/,
    },
    { name: 'a hello with an empty worker id', message: { hello: { worker_id: '', pool: 'cpu', address: '127.0.0.1:1', capacity: { cpu: 1, memory: '1', gpu_count: 0, gpu_memory: '0' } } }, logged: /hello: worker_id/ },
    { name: 'a message with no body', message: {}, logged: /empty message/ },
  ];
  for (const h of hostile) {
    it(`refuses ${h.name}, closes the stream and keeps running`, async () => {
      const answer = await joinWith(controller, h.message);
      assert.ok(typeof answer === 'object', `ended with a status, not ${JSON.stringify(answer)}`);
      assert.equal(answer.code, 3, 'INVALID_ARGUMENT');
      assert.match(answer.details, h.logged);
      // The log line travels over the process's stdout, which may trail the gRPC answer.
      for (let i = 0; i < 50 && !h.logged.test(controller.output()); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(controller.output(), h.logged);
      assert.equal(controller.process.exitCode, null, 'the controller is still running');
      const status = (await (await fetch(`${controller.base}/v1/cluster`)).json()) as { workers: { id: string }[] };
      assert.deepEqual(status.workers, []);
    });
  }
});
