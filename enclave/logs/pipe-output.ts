import { writeSync } from 'node:fs';

/**
 * An output that writes to the pipe open on `fd` at once and whole, before it returns: what is
 * handed to it is in the pipe even if the process exits next. The supervisor reads the pipe
 * without pause, so a write waits only while the supervisor catches up, as standard output does.
 */
export function pipeOutput(fd: number): { write(text: string): void } {
  return {
    write(text) {
      const bytes = Buffer.from(text);
      try {
        for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
      } catch {
        // Logs are best effort: a supervisor that is gone (EPIPE) stops the app by other means.
      }
    },
  };
}
