import { type Server, createServer as createHttpServer } from 'node:http';
import { type Server as HttpsServer, request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket, connect } from 'node:net';
import type { Agent } from 'node:https';
import { connectProxyAgent } from '../../enclave/secrets-proxy';
import { generateTlsIdentity } from '../../proxy/ingress/tls-identity';

/** A minimal CONNECT proxy that allows one host:port and refuses the rest with 403. */
function connectProxy(allowed: string): { server: Server; connects: string[] } {
  const connects: string[] = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    if (req.url !== allowed) {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const [host, port] = [req.url.slice(0, req.url.lastIndexOf(':')), Number(req.url.slice(req.url.lastIndexOf(':') + 1))];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return { server, connects };
}

const listen = async (server: Server | HttpsServer) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

function get(agent: Agent, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // The target's certificate is self-signed: this checks the tunnel, not certificate validation.
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', agent, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

let target: HttpsServer;
let targetPort: number;
let proxy: ReturnType<typeof connectProxy>;
let proxyPort: number;

beforeAll(async () => {
  const { keyPem, certPem } = await generateTlsIdentity();
  target = createHttpsServer({ key: keyPem, cert: certPem }, (_req, res) => res.end('through the tunnel'));
  targetPort = await listen(target);
  proxy = connectProxy(`127.0.0.1:${targetPort}`);
  proxyPort = await listen(proxy.server);
});

afterAll(async () => {
  target.closeAllConnections();
  proxy.server.closeAllConnections();
  await Promise.all([new Promise((r) => target.close(r)), new Promise((r) => proxy.server.close(r))]);
});

describe('the supervisor KMS client’s CONNECT agent', () => {
  it('tunnels HTTPS through the egress proxy with CONNECT host:port, TLS end to end', async () => {
    const agent = connectProxyAgent(`http://127.0.0.1:${proxyPort}`);
    try {
      expect(await get(agent, targetPort)).toEqual({ status: 200, body: 'through the tunnel' });
      expect(proxy.connects).toContain(`127.0.0.1:${targetPort}`);
    } finally {
      agent.destroy();
    }
  });

  it('fails with a clear error when the proxy refuses the destination', async () => {
    const agent = connectProxyAgent(`http://127.0.0.1:${proxyPort}`);
    try {
      // Port 9 is not on the proxy's list, so it refuses before dialing anything.
      await expect(get(agent, 9)).rejects.toThrow(/refused CONNECT 127\.0\.0\.1:\d+ \(status 403\)/);
    } finally {
      agent.destroy();
    }
  });

  it('accepts only an http:// proxy URL', () => {
    expect(() => connectProxyAgent('socks5://127.0.0.1:1080')).toThrow(/http:\/\//);
  });
});
