import { type RequestListener, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';

type Verb = 'get' | 'post' | 'put' | 'delete' | 'patch';

/** supertest verbs with the caller's identity headers already set. */
export type Caller = Record<Verb, (path: string) => request.Test>;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: Server;
  /** A caller as the ingress would present it: `as('alice', 'bidder').post('/millionaire/rounds')`. */
  as(name: string, role: string): Caller;
  /** A caller without identity headers. */
  anonymous: Caller;
  close(): Promise<void>;
}

/**
 * Serves an app on 127.0.0.1 (never all interfaces) for the duration of a test, and calls it the
 * way the ingress does: `as(name, role)` sends the two identity headers the ingress sets for an
 * authenticated caller, `anonymous` sends neither. Behind the real ingress a client can never set
 * these headers itself (they are stripped and replaced), so a test that sets them by hand is
 * testing what the ingress would have sent, not what a client can forge.
 *
 * @example
 * const { as, anonymous, close } = await serve(app);
 * await as('alice', 'bidder').post('/millionaire/rounds/default/wealth').send({ wealth: '10' }).expect(201);
 * await anonymous.get('/hello').expect(401);
 * await close();
 */
export async function serve(app: RequestListener): Promise<TestServer> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const caller = (headers: Record<string, string>): Caller => {
    const make = (verb: Verb) => (path: string) => request(url)[verb](path).set(headers);
    return { get: make('get'), post: make('post'), put: make('put'), delete: make('delete'), patch: make('patch') };
  };
  return {
    url,
    server,
    as: (name, role) => caller({ 'X-OBLV-User-Name': name, 'X-OBLV-User-Role': role }),
    anonymous: caller({}),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
