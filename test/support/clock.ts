/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC through process.hrtime): the same clock in
 * every process of this machine, so times taken in a load generator and in the test that kills things
 * compare, and a stepped or slewed wall clock moves neither. Not a date: only differences mean anything.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
