/**
 * How a parent-side program ends: a usage or I/O error exits 2, as every Cloister command does
 * (nothing else keeps the process alive by then); SIGTERM or SIGINT stops its work cleanly, then
 * exits 0.
 */
export function failWithUsage(message: string): void {
  process.stderr.write(message);
  process.exitCode = 2;
}

/** Stops the program's work on SIGTERM or SIGINT (once), then exits 0. */
export function stopOnSignal(stop: () => Promise<unknown>): void {
  const onSignal = () => void stop().then(() => process.exit(0));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
