import type { Socket } from 'node:net';

/**
 * Pipes `a` and `b` into each other with backpressure and half-close: one side's clean end is
 * passed on while the other direction keeps flowing; an error or reset on either side closes
 * both. Every byte passes through `a`, so `a`'s idle timeout (its server's, see ManagedServer)
 * bounds the pair: when it closes `a`, `b` follows.
 *
 * With `opening`, `b` → `a` flows at once but `a` → `b` waits for it: its bytes (what was read
 * from `a` meanwhile) are written to `b` first, then `a` is piped; `undefined` closes both.
 */
export function splice(a: Socket, b: Socket, opening?: Promise<Buffer | undefined>): void {
  a.on('error', () => {});
  b.on('error', () => {});
  b.pipe(a);
  follow(a, b);
  follow(b, a);
  b.resume();
  const open = (first: Buffer | undefined) => {
    if (first === undefined) return void (a.destroy(), b.destroy());
    if (a.destroyed || b.destroyed) return;
    if (first.length > 0) b.write(first);
    // `a` ended while its first bytes were read: pass the end on (pipe would not see it again).
    if (a.readableEnded) return void b.end();
    a.pipe(b);
    a.resume();
  };
  if (opening) void opening.then(open, () => open(undefined));
  else open(Buffer.alloc(0));
}

/**
 * When `from` closes, `to` follows: ended after its last bytes if `from` had ended both ways,
 * destroyed if `from` was cut off (an error, or destroyed while a direction was still open, as an
 * idle timeout does), since nothing `to` sends could arrive any more.
 */
function follow(from: Socket, to: Socket): void {
  from.on('close', (hadError) => {
    if (to.destroyed) return;
    if (hadError || !from.readableEnded || !from.writableFinished) to.destroy();
    else to.end();
  });
}
