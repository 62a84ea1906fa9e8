import { type AddressInfo, createServer } from 'node:net';

/**
 * A TCP port on `host` that nothing listens on right now, for a process that must be told a port
 * rather than given port 0 (a command app, a bridge a test or benchmark starts).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
