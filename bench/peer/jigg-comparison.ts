import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const PARTY = join(__dirname, 'jigg-party.js');
const RUN_TIMEOUT_MS = 30_000;

/** The JSON lines a party prints, in order. */
function linesOf(args: string[]): { lines: AsyncIterator<string>; kill: () => void } {
  const child = spawn(process.execPath, [PARTY, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { lines: createInterface({ input: child.stdout })[Symbol.asyncIterator](), kill: () => child.kill() };
}

async function next(lines: AsyncIterator<string>, what: string): Promise<Record<string, number>> {
  const line = await lines.next();
  if (line.done) throw new Error(`the jigg ${what} stopped without an answer`);
  return JSON.parse(line.value) as Record<string, number>;
}

/**
 * One garbled-circuit run of the millionaires' comparison with jigg (the garbler holding `a`, the
 * evaluator `b`, each in a fresh process, over jigg's socket.io relay on 127.0.0.1): the evaluator's
 * time from connecting to the answer, and the answer (a < b), checked to agree between the two.
 */
export async function jiggComparison(a: number, b: number): Promise<{ ms: number; aIsLess: boolean }> {
  const garbler = linesOf(['garble', String(a)]);
  let evaluator: ReturnType<typeof linesOf> | undefined;
  const timer = setTimeout(() => {
    garbler.kill();
    evaluator?.kill();
  }, RUN_TIMEOUT_MS);
  try {
    const { port } = await next(garbler.lines, 'garbler');
    evaluator = linesOf(['evaluate', String(port), String(b)]);
    const evaluated = await next(evaluator.lines, 'evaluator');
    const garbled = await next(garbler.lines, 'garbler');
    if (evaluated.output !== garbled.output) throw new Error(`jigg's parties disagree: ${evaluated.output} and ${garbled.output}`);
    return { ms: evaluated.ms!, aIsLess: evaluated.output === 1 };
  } finally {
    clearTimeout(timer);
  }
}
