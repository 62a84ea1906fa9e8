import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The server processes of one benchmark (see server-process.ts for the roles): each started in a
 * process of its own, as it runs in an enclave or on the parent, and all stopped together.
 */
export class ServerProcesses {
  private readonly children: ChildProcess[] = [];

  /** Starts `role` with `args`; resolves with the address it listens on. */
  start(role: 'app' | 'ingress' | 'bridge' | 'tls-relay', ...args: string[]): Promise<string> {
    const child = spawn(process.execPath, [join(__dirname, 'server-process.js'), role, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the benchmark's ${role} process exited with ${code} before listening`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { address: string }).address));
    });
  }

  stopAll(): void {
    for (const child of this.children) child.kill('SIGTERM');
  }
}
