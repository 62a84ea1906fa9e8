import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixtureApp } from '../helpers/fixtures';
import { type TestServer, serve } from '../../express/testing';

/** A server on 127.0.0.1 that counts every TCP connection it accepts and records each request. */
export interface Upstream {
  port: number;
  origin: string;
  /** TCP connections accepted so far: a refused destination must leave this unchanged. */
  connections: number;
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  server: Server;
  close(): Promise<void>;
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end('ok')): Promise<Upstream> {
  const server = createServer((req, res) => {
    up.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', () => {
    up.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const up: Upstream = {
    port,
    origin: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: [],
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return up;
}

/** A 127.0.0.1 port that was free a moment ago and has nothing listening on it now. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/**
 * Runs `fn` with exactly the given proxy variables set (all others unset) and restores the
 * environment afterwards, so the outbound app's dispatcher sees only what a test chose.
 */
export function withProxyEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Serves the fixture app with this allowlist and outbound settings, created with `proxyEnv`. */
export async function serveOutbound(
  outbound: { host: string; port: number }[],
  settings: { maxBodyBytes?: number; timeoutMs?: number } = {},
  proxyEnv: Record<string, string> = {},
) {
  const fixture = withProxyEnv(proxyEnv, () =>
    fixtureApp((config) => {
      config.outbound = outbound;
      config.apps.outbound = settings;
    }),
  );
  const t: TestServer = await serve(fixture.app);
  return { t, logs: fixture.logs };
}

/** `/outbound?url=…` with the URL encoded as a browser or curl would. */
export const outboundPath = (url: string) => `/outbound?url=${encodeURIComponent(url)}`;
