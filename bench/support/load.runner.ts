import path from 'node:path';
import type { LoadResult, LoadSpec } from '../load/autocannon.driver';
import { tail, type ProcessGroup } from './process-group';

export type { LoadResult, LoadSpec } from '../load/autocannon.driver';

const DRIVER = path.resolve(__dirname, '..', 'load', 'autocannon.driver.js');

/** Runs the autocannon driver in its own process against one endpoint and returns what it measured. */
export async function runLoad(group: ProcessGroup, spec: LoadSpec): Promise<LoadResult> {
  const driver = group.spawn('load driver', process.execPath, [DRIVER, JSON.stringify(spec)]);
  const code = await new Promise<number | null>((resolve) => driver.child.once('exit', (c) => resolve(c)));
  const line = driver.output().trimEnd().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load driver failed (exit ${code}):\n${tail(driver.output())}`);
  return JSON.parse(line) as LoadResult;
}
