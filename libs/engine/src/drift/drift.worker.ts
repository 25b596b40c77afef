// Worker thread that runs one drift node's tests, so a slow test never blocks the event loop that
// serves requests. Started by WorkerDriftComputer with the node's config and reference columns.
import { parentPort, workerData } from 'node:worker_threads';
import { detectDriftFor } from '@infergraph/nodes';
import type { DriftConfig } from '@infergraph/spec';

interface Init {
  readonly config: DriftConfig;
  readonly reference: Float64Array[];
}

const { config, reference } = workerData as Init;

parentPort?.on('message', (message: { id: number; columns: Float64Array[] }) => {
  try {
    const detection = detectDriftFor(config, reference, message.columns);
    parentPort?.postMessage({ id: message.id, detection });
  } catch (err) {
    parentPort?.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) });
  }
});
