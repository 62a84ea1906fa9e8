import type { ClientRequestArgs } from 'node:http';
import { Agent } from 'node:https';
import { connect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

/** Longest proxy reply head accepted before the tunnel is up. */
const MAX_REPLY_HEAD_BYTES = 8192;

/**
 * An HTTPS agent that tunnels each connection through an HTTP forward proxy with CONNECT (the
 * enclave's egress proxy), then speaks TLS to the destination end to end: the proxy sees only the
 * host and port. Enough for the supervisor's own KMS client; the app uses the egress through its
 * environment instead.
 */
export function connectProxyAgent(proxyUrl: string): Agent {
  const proxy = new URL(proxyUrl);
  if (proxy.protocol !== 'http:') throw new Error(`The egress proxy must be an http:// URL, not ${proxy.protocol}//…`);
  const proxyPort = Number(proxy.port || 80);
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');

  const agent = new Agent({ keepAlive: true });
  agent.createConnection = (options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void) => {
    const done = callback ?? (() => {});
    const host = String(options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port ?? 443);
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const socket = connect(proxyPort, proxyHost);
    let head = Buffer.alloc(0);
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      done(error, socket);
    };
    const onClose = () => fail(new Error(`The egress proxy closed the connection before answering CONNECT ${authority}.`));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_REPLY_HEAD_BYTES) fail(new Error(`The egress proxy sent an oversized reply to CONNECT ${authority}.`));
        return;
      }
      socket.off('data', onData).off('error', fail).off('close', onClose);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (status !== '200') {
        return fail(new Error(`The egress proxy refused CONNECT ${authority} (status ${status ?? 'unreadable'}); is it on the outbound list?`));
      }
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4));
      const tls = tlsConnect({ ...(options as ConnectionOptions), socket, host, port, ...(isIP(host) ? {} : { servername: host }) });
      done(null, tls);
    };
    socket.on('data', onData).on('error', fail).on('close', onClose);
    socket.once('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    return undefined;
  };
  return agent;
}
