import http from 'node:http';
import https from 'node:https';
import type { Reply } from './attested-stack';

/** One request as `user`, its JSON answer parsed. */
export type Call = (method: string, path: string, user: string, body?: unknown) => Promise<Reply>;

/** A client certificate to present, for a server that asks for one but checks nothing (the benchmarks' TLS relay). */
export interface ClientCertificate {
  key: string;
  cert: string;
}

/**
 * A client of the app served directly on 127.0.0.1, calling as the ingress would (the identity
 * headers set, with `role`): one keep-alive connection per user. Plain HTTP, or TLS presenting
 * `tls` without checking the server's certificate (for the relay the benchmarks measure as a floor).
 */
export function plainClient(port: number, role: string, tls?: ClientCertificate): { call: Call; close(): void } {
  const agents = new Map<string, http.Agent>();
  const agentOf = (user: string) => {
    let agent = agents.get(user);
    if (!agent) {
      agent = tls ? new https.Agent({ keepAlive: true, maxSockets: 1, ...tls, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.set(user, agent);
    }
    return agent;
  };
  const send = tls ? https.request : http.request;
  const call: Call = (method, path, user, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: http.OutgoingHttpHeaders = { 'X-OBLV-User-Name': user, 'X-OBLV-User-Role': role };
      if (payload !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      const req = send({ host: '127.0.0.1', port, method, path, agent: agentOf(user), headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  return { call, close: () => agents.forEach((agent) => agent.destroy()) };
}
