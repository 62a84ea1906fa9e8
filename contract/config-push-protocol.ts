import type { Socket } from 'node:net';

/**
 * The config push protocol (vsock port 5002; a unix socket or TCP locally). One connection, one
 * exchange: the parent sends one frame, the enclave answers with one frame and closes.
 *
 *   frame   = length (4 bytes, big-endian) ‖ UTF-8 JSON
 *   push    = {"v": 1, "format": "json" | "yaml", "config": "<the configuration file's text>"}
 *   answer  = {"ok": true, "digest": "<hex>"} | {"ok": false, "error": "<why it was refused>"}
 */
export interface PushMessage {
  v: 1;
  format: 'json' | 'yaml';
  config: string;
}
export type PushAnswer = { ok: true; digest: string } | { ok: false; error: string };

/** Largest configuration text accepted (as the file loader). */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Largest frame: the configuration escaped in JSON may grow; 4 MiB bounds the worst case sensibly. */
export const MAX_FRAME_BYTES = 4 * MAX_CONFIG_BYTES;

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new RangeError(`a config push frame is at most ${MAX_FRAME_BYTES} bytes; this one is ${body.length}`);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/**
 * Reads one frame from `socket` and parses its JSON; rejects when the peer closes first, sends a
 * frame larger than `maxBytes`, sends bytes that are not JSON, or takes longer than `timeoutMs`.
 */
export function readFrame(socket: Socket, timeoutMs: number, maxBytes = MAX_FRAME_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let length: number | undefined;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (length === undefined && have >= 4) {
        length = Buffer.concat(chunks).readUInt32BE(0);
        if (length > maxBytes) return finish(() => reject(new Error(`the frame is ${length} bytes, more than the ${maxBytes} accepted`)));
      }
      if (length !== undefined && have >= 4 + length) {
        const body = Buffer.concat(chunks).subarray(4, 4 + length);
        finish(() => {
          try {
            resolve(JSON.parse(body.toString('utf8')));
          } catch {
            reject(new Error('the frame is not JSON'));
          }
        });
      }
    };
    const onEnd = () => finish(() => reject(new Error('the connection ended before a whole frame arrived')));
    const onError = (e: Error) => finish(() => reject(e));
    const timer = setTimeout(() => finish(() => reject(new Error(`no whole frame within ${timeoutMs} ms`))), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

/** The push message in `value`, or a sentence saying what is wrong with it. */
export function asPushMessage(value: unknown): PushMessage | string {
  const message = value as Partial<PushMessage> | null;
  if (typeof message !== 'object' || message === null) return 'the push is not a JSON object';
  if (message.v !== 1) return `unsupported push version ${JSON.stringify(message.v)} (this enclave speaks version 1)`;
  if (message.format !== 'json' && message.format !== 'yaml') return 'format must be "json" or "yaml"';
  if (typeof message.config !== 'string') return 'config must be the configuration text';
  if (Buffer.byteLength(message.config, 'utf8') > MAX_CONFIG_BYTES) return `the configuration is larger than ${MAX_CONFIG_BYTES} bytes`;
  return { v: 1, format: message.format, config: message.config };
}
