// A process that starts an echo child (test/support/threads/echo.process.ts) through a BackgroundProcess,
// prints `child <pid>` once the child has answered, and waits to be killed: the test kills it with -9 and
// checks that the child leaves too.
import path from 'node:path';
import { BackgroundProcess } from '@infergraph/threads';

const child = new BackgroundProcess<number>({ file: path.join(__dirname, 'echo.process.js'), what: 'the echo process', missingHint: '', resultOf: (reply) => reply['pid'] as number });
void child.call({ kind: 'slow', ms: 60_000 }).catch(() => undefined);
child.call({ kind: 'echo', value: 1 }).then(
  (pid) => console.log(`child ${pid}`),
  (err: unknown) => console.log(`failed ${String(err)}`),
);
