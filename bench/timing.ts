/** Milliseconds of each of `count` runs of `run`, after `warmup` runs that are not counted. */
export async function timeRuns(count: number, warmup: number, run: (i: number) => unknown): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const started = process.hrtime.bigint();
    await run(i);
    if (i >= warmup) ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return ms;
}

/** p50, p99 and mean of a list of timings. */
export function summary(ms: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

/** One line of a p50 / p99 / mean table, and its header. */
export const summaryRow = (label: string, s: ReturnType<typeof summary>) =>
  `${label.padEnd(24)}${s.p50.toFixed(4).padStart(10)}${s.p99.toFixed(4).padStart(10)}${s.mean.toFixed(4).padStart(10)}`;
export const SUMMARY_HEADER = `${''.padEnd(24)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'mean ms'.padStart(10)}`;
