import { readFileSync } from 'node:fs';

// Fault injection for tests: loaded into a real process with NODE_OPTIONS=--require, it steps that process's
// wall clock as an NTP step or a resumed VM would, while its monotonic clock (performance.now(), timers)
// runs on. On SIGWINCH (NestJS's shutdown hooks take SIGUSR2 and SIGHUP; SIGWINCH is ignored by default) it reads the offset in milliseconds from INFERGRAPH_TEST_CLOCK_FILE and makes
// Date.now() answer the real time plus that offset, then says so on stderr.

const file = process.env['INFERGRAPH_TEST_CLOCK_FILE'];
if (file !== undefined && file !== '') {
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  Date.now = () => realNow() + offsetMs;
  process.on('SIGWINCH', () => {
    const next = Number(readFileSync(file, 'utf8').trim());
    if (!Number.isFinite(next)) {
      process.stderr.write(`[clock-step] ${file} holds no number of milliseconds\n`);
      return;
    }
    const step = next - offsetMs;
    offsetMs = next;
    process.stderr.write(`[clock-step] wall clock stepped by ${step} ms (offset ${offsetMs} ms)\n`);
  });
}
