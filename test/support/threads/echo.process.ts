// A BackgroundProcess child for test/integration/background-process.test.ts: answers `echo`, reports its
// threads' nice values (`nice`), fails (`fail`), dies (`exit`), or answers after a while (`slow`).
import { serveBackgroundCalls, threadNiceValues } from '@infergraph/threads';

serveBackgroundCalls(async (request) => {
  switch (request['kind']) {
    case 'echo':
      return { value: request['value'], pid: process.pid };
    case 'nice':
      return { value: [...threadNiceValues().values()], pid: process.pid };
    case 'fail':
      throw new Error('asked to fail');
    case 'exit':
      process.exit(3);
      break;
    case 'slow':
      await new Promise((r) => setTimeout(r, Number(request['ms'])));
      return { value: 'late', pid: process.pid };
  }
  throw new Error(`unknown kind ${String(request['kind'])}`);
});
