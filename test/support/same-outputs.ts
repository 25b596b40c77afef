import assert from 'node:assert/strict';
import type { HttpResult } from './gateway.process';

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** Same output names, datatypes, shapes and route; labels exact, floats within 1e-6. */
export function assertSameOutputs(local: HttpResult, remote: HttpResult, graph: string): void {
  assert.equal(local.status, 200, `${graph} in-process: ${JSON.stringify(local.body)}`);
  assert.equal(remote.status, 200, `${graph} distributed: ${JSON.stringify(remote.body)}`);
  const a = (local.body as { outputs: Tensor[] }).outputs;
  const b = (remote.body as { outputs: Tensor[] }).outputs;
  assert.deepEqual(b.map((t) => [t.name, t.datatype, t.shape]), a.map((t) => [t.name, t.datatype, t.shape]), graph);
  a.forEach((t, i) => {
    const other = b[i] as Tensor;
    t.data.forEach((v, k) => {
      const w = other.data[k];
      if (typeof v === 'number' && !Number.isInteger(v)) assert.ok(Math.abs(v - (w as number)) <= 1e-6, `${graph} ${t.name}[${k}]: ${v} vs ${String(w)}`);
      else assert.deepEqual(w, v, `${graph} ${t.name}[${k}]`);
    });
  });
  assert.equal(remote.headers.get('x-infergraph-route'), local.headers.get('x-infergraph-route'), `${graph} route`);
}

