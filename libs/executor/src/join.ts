import type { JoinPolicy } from './graph-plan';
import type { NodeOutcome } from './node-outcome';

/**
 * Waits for a combiner's branches under its join policy and returns, per branch, the outcome that
 * counts (undefined: not arrived within the window, or not needed).
 * - inner: every branch settles.
 * - any: the first branch that succeeds.
 * - outer: branches that succeed within `windowMs` after the first success.
 * A failure ends the wait at once under `onError: fail`; under `skip` it is just left out.
 */
export function awaitJoin(branches: readonly Promise<NodeOutcome>[], policy: JoinPolicy): Promise<(NodeOutcome | undefined)[]> {
  const settled: (NodeOutcome | undefined)[] = branches.map(() => undefined);
  if (branches.length === 0) return Promise.resolve(settled);
  return new Promise((resolve) => {
    let pending = branches.length;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(settled.slice());
    };
    branches.forEach((p, i) => {
      void p.then((outcome) => {
        if (done) return;
        settled[i] = outcome;
        pending--;
        if (outcome.status === 'failed' && policy.onError === 'fail') return finish();
        if (outcome.status === 'ok' && policy.mode === 'any') return finish();
        if (outcome.status === 'ok' && policy.mode === 'outer' && timer === undefined) {
          timer = setTimeout(finish, policy.windowMs);
        }
        if (pending === 0) finish();
      });
    });
  });
}
