import type { Socket } from 'node:net';

/**
 * Pipes `a` and `b` into each other with backpressure and half-close: one side's clean end is
 * passed on while the other direction keeps flowing; an error or reset on either side closes
 * both. A pair idle (no bytes either way) for `idleMs` is closed.
 */
export function splice(a: Socket, b: Socket, idleMs: number): void {
  a.on('error', () => {});
  b.on('error', () => {});
  for (const socket of [a, b]) socket.setTimeout(idleMs, () => (a.destroy(), b.destroy()));
  a.pipe(b);
  b.pipe(a);
  follow(a, b);
  follow(b, a);
  a.resume();
  b.resume();
}

function follow(from: Socket, to: Socket): void {
  from.on('close', (hadError) => {
    if (to.destroyed) return;
    if (hadError || !from.readableEnded) to.destroy();
    else to.end();
  });
}
