import type { EngineLogger } from './graph.registry';

/**
 * What a serving process does when one of its model threads dies (onnxruntime sessions held off the event
 * loop): the sessions it held are gone and cannot be re-created from what the process kept, so the process
 * stops the way SIGTERM stops it. A worker drains (its controller moves the replicas first); a gateway
 * finishes what it has in flight. A supervisor (Kubernetes, start:cluster) starts a fresh one.
 */
export function stopOnModelThreadExit(logger: EngineLogger): (why: string) => void {
  return (why) => {
    logger.error(`${why}; stopping this process (SIGTERM) so that a fresh one replaces it`);
    process.kill(process.pid, 'SIGTERM');
  };
}
