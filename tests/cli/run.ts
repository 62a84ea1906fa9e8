import { runCli } from '../../cli/main';

/** Runs `cloister …` in-process and resolves to its exit status and output. */
export async function cloister(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}
