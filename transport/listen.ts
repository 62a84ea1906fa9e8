import { connect, type Server } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import type { Address } from './address';
import { connectTarget } from './connect';
import { listenVsock } from './vsock';

/**
 * Starts `server` listening on `address` and resolves with the address actually bound (the port
 * chosen by the system for `tcp://HOST:0`). A unix socket file left behind by a process that died
 * is removed and the listen retried; one that a live process still answers on, or any other
 * kind of file, is not touched. A vsock address (`vsock://4294967295:PORT` for any CID) is bound
 * through the native transport; its server reports an empty address.
 */
export async function listenOn(server: Server, address: Address): Promise<Address> {
  if (address.kind === 'vsock') {
    await listenVsock(server, address.cid, address.port);
    return address;
  }
  const target = connectTarget(address);
  try {
    await listenOnce(server, target);
  } catch (e) {
    if ('path' in target && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && (await isDeadSocket(target.path))) {
      await unlink(target.path);
      await listenOnce(server, target);
    } else {
      throw e;
    }
  }
  const bound = server.address();
  return typeof bound === 'object' && bound !== null && address.kind === 'tcp' ? { kind: 'tcp', host: address.host, port: bound.port } : address;
}

function listenOnce(server: Server, target: ReturnType<typeof connectTarget>): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    server.once('error', fail);
    const done = () => {
      server.off('error', fail);
      resolve();
    };
    if ('path' in target) server.listen(target.path, done);
    else server.listen(target.port, target.host, done);
  });
}

/** A socket file nobody accepts on; anything else at the path (a live socket, a regular file) is left alone. */
async function isDeadSocket(path: string): Promise<boolean> {
  if (!(await lstat(path)).isSocket()) return false;
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}
