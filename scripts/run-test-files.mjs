// Runs test files with node's test runner in the order given, `concurrency` at a time, reporting as
// `node --test --test-reporter=spec` does (the summary last; exit status 1 when a test failed). `node --test`
// sorts the files it is given by name; scripts/run-tests.mjs orders them itself (docs/decisions.md).
//   node [--import …] scripts/run-test-files.mjs <concurrency> <file>...
// The test files' processes inherit this process's execArgv (--enable-source-maps, --import).
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const [concurrency, ...files] = process.argv.slice(2);
const stream = run({ files, concurrency: Number(concurrency) });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
