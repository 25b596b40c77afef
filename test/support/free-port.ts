import { pathToFileURL } from 'node:url';
import { repoPath } from './repo';

// Ports for processes a test starts and that bind later (scripts/lib/free-port.mjs says why they come from
// below the kernel's ephemeral range, one block per test lane). The script is an ES module outside the
// TypeScript build, shared with the Kubernetes control plane and broker scripts; loaded from the repository.

interface FreePortModule {
  freePort(): Promise<number>;
  freePortBlock(offsets: readonly number[]): Promise<number>;
}

const load = async (): Promise<FreePortModule> => (await import(pathToFileURL(repoPath('scripts', 'lib', 'free-port.mjs')).href)) as FreePortModule;

/** A loopback port free now, not handed out before by this process, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  return (await load()).freePort();
}

/** `npm run start:cluster`'s ports from CONTROL_PORT: the control plane, three workers, their metrics ports. */
export async function freeStartClusterControlPort(): Promise<number> {
  return (await load()).freePortBlock([0, 1, 2, 3, 101, 102, 103]);
}
