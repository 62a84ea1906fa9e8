/**
 * The tunnel protocol between the egress proxy (in the enclave) and the egress relay (on the
 * parent), over one stream per connection (vsock port 5001; a unix socket or TCP locally):
 *
 *   proxy → relay   one JSON line: {"v":1,"host":"api.example.com","port":443}\n
 *   relay → proxy   one JSON line: {"ok":true}\n                       (then raw bytes both ways)
 *               or  {"ok":false,"error":"NOT_ALLOWED"|"BAD_REQUEST"|"CONNECT_FAILED"|"BUSY",
 *                    "message":"…"}\n                                 (then the relay closes)
 *
 * The relay answers only once it has checked the target against its own copy of the allowlist and
 * its connection to the target is open, so the proxy can tell its client 403, 502 or 200 truthfully.
 * After `ok`, the stream is the target's: the relay pipes bytes without reading them. Lines are
 * at most {@link MAX_LINE_BYTES}; they carry host and port only, never a path or data.
 */
import type { Socket } from 'node:net';
import type { EgressTarget } from './allowlist';

export const PROTOCOL_VERSION = 1;
export const MAX_LINE_BYTES = 1024;

export type RelayErrorCode = 'NOT_ALLOWED' | 'BAD_REQUEST' | 'CONNECT_FAILED' | 'BUSY';

export type RelayReply = { ok: true } | { ok: false; error: RelayErrorCode; message: string };

export const encodeTunnelRequest = (target: EgressTarget): string => `${JSON.stringify({ v: PROTOCOL_VERSION, host: target.host, port: target.port })}\n`;

export const encodeReply = (reply: RelayReply): string => `${JSON.stringify(reply)}\n`;

/** The target of a request line, or `undefined` if the line is not one (the relay then refuses). */
export function decodeTunnelRequest(line: string): EgressTarget | undefined {
  const value = parseObject(line);
  if (value === undefined) return undefined;
  const { v, host, port } = value;
  if (v !== PROTOCOL_VERSION || typeof host !== 'string' || typeof port !== 'number') return undefined;
  return { host, port };
}

const CODES: readonly RelayErrorCode[] = ['NOT_ALLOWED', 'BAD_REQUEST', 'CONNECT_FAILED', 'BUSY'];

/** The relay's answer, or `undefined` if the line is not one. */
export function decodeReply(line: string): RelayReply | undefined {
  const value = parseObject(line);
  if (value === undefined) return undefined;
  const { ok, error, message } = value;
  if (ok === true) return { ok: true };
  if (ok === false && CODES.includes(error as RelayErrorCode) && typeof message === 'string') {
    return { ok: false, error: error as RelayErrorCode, message: message.slice(0, MAX_LINE_BYTES) };
  }
  return undefined;
}

/** Why {@link readLine} gave up. */
export class LineError extends Error {
  constructor(readonly code: 'TOO_LONG' | 'TIMEOUT' | 'CLOSED') {
    super(code === 'TOO_LONG' ? `line longer than ${MAX_LINE_BYTES} bytes` : code === 'TIMEOUT' ? 'no line in time' : 'closed before a line');
    this.name = 'LineError';
  }
}

/**
 * Reads one `\n`-terminated line from `socket` (at most {@link MAX_LINE_BYTES}, within
 * `timeoutMs`) and puts any bytes after it back, so whoever pipes the socket next sees them first.
 * The socket is left paused.
 */
export function readLine(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      socket.off('error', onClosed);
      socket.pause();
      outcome();
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const at = buffered.indexOf(0x0a);
      if (at < 0) {
        if (buffered.length > MAX_LINE_BYTES) finish(() => reject(new LineError('TOO_LONG')));
        return;
      }
      if (at > MAX_LINE_BYTES) {
        finish(() => reject(new LineError('TOO_LONG')));
        return;
      }
      const line = buffered.subarray(0, at).toString('utf8');
      const rest = buffered.subarray(at + 1);
      finish(() => {
        if (rest.length > 0) socket.unshift(rest);
        resolve(line);
      });
    };
    const onClosed = () => finish(() => reject(new LineError('CLOSED')));
    const timer = setTimeout(() => finish(() => reject(new LineError('TIMEOUT'))), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.once('error', onClosed);
    socket.resume();
  });
}

/** A line's JSON object, or undefined when the line is not one. */
function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
