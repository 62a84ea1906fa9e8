import { runCli } from '../../cli/main';

/** Runs `cloister …` in-process and returns its exit status and output. */
export function cloister(...argv: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}
