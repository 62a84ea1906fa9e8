/** Lines gathered before they are written at once, without waiting for the delay. */
const MAX_BATCH_CHARS = 64 * 1024;

/**
 * A `write` for log lines that gathers the lines of `delayMs` into one write to `output` (standard
 * output by default; the module host gives a pipe of its own, see pipe-output.ts). Each write to
 * the app's output wakes the supervisor, which reads and forwards it: a line per request written
 * before the response cost the request a wake-up of the ingress's process. Nothing written is
 * lost when the process ends by itself, exits or throws: what is gathered is written when the
 * process exits (only a SIGKILL loses the last `delayMs`).
 */
export function batchedOutput(delayMs: number, output: { write(text: string): unknown } = process.stdout): (line: string) => void {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    output.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    pending += line;
    if (pending.length >= MAX_BATCH_CHARS) flush();
    else timer ??= setTimeout(flush, delayMs);
  };
}
