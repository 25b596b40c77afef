import * as ort from 'onnxruntime-node';
import { percentile } from './percentile';

export interface LoopResult {
  readonly requests: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of this process (all its threads) per call in the measured run. */
  readonly cpuMsPerRequest: number;
}

/**
 * The ceiling: onnxruntime-node called directly in this process by `concurrency` promise chains, each
 * building a fresh one-row tensor per call as a server would; no HTTP, no JSON. A warm-up first.
 */
export async function runOrtLoop(modelPath: string, inputName: string, row: readonly number[], concurrency: number, durationS: number, warmupS: number): Promise<LoopResult> {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const run = async (seconds: number, latencies: number[] | undefined): Promise<number> => {
      const end = performance.now() + seconds * 1000;
      let count = 0;
      const chain = async (): Promise<void> => {
        while (performance.now() < end) {
          const started = performance.now();
          await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(row), [1, row.length]) });
          latencies?.push(performance.now() - started);
          count++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, chain));
      return count;
    };
    await run(warmupS, undefined);
    const latencies: number[] = [];
    const started = performance.now();
    const cpu = process.cpuUsage();
    const requests = await run(durationS, latencies);
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { requests, requestsPerS: requests / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), cpuMsPerRequest: (used.user + used.system) / 1000 / requests };
  } finally {
    await session.release();
  }
}
