import type { RunningController } from './controller.process';

/** What tests read of a controller's `GET /v1/cluster`. */
export interface ClusterStatusBody {
  synced: boolean;
  epoch: string;
  workers: { id: string; replicas: number; draining: boolean; lastHeartbeatAgeMs?: number }[];
  graphs: { name: string; version?: string; nodes: { key: string; replicas: { replica: number; worker: string; state: string; leaving?: boolean }[] }[] }[];
  routing: { routes: { key: string; addresses: string[] }[] };
}

export async function clusterStatus(controller: RunningController): Promise<ClusterStatusBody> {
  return (await (await fetch(`${controller.base}/v1/cluster`)).json()) as ClusterStatusBody;
}

/** The workers holding a READY replica of `key` that is not on its way out. */
export const readyWorkers = (s: ClusterStatusBody, key: string): string[] =>
  (s.graphs.flatMap((g) => g.nodes).find((n) => n.key === key)?.replicas ?? []).filter((r) => r.state === 'READY' && r.leaving !== true).map((r) => r.worker);
