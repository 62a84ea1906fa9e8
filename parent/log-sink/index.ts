import { type Socket, createServer } from 'node:net';
import type { Writable } from 'node:stream';
import { type Logger, formatLogLine, jsonLinesLogger } from '../../contract/log';
import type { Address } from '../../transport/address';
import { listenOn } from '../../transport/listen';
import { ManagedServer } from '../../transport/managed-server';
import { LineReader } from './line-reader';

export interface LogSinkOptions {
  /** Where the enclave connects: vsock://3:5003 on the parent instance, a unix socket in local mode. */
  listen: Address;
  /** Where received lines are written, one JSON line each (default: standard output). */
  output?: Writable;
  /** The sink's own lines about itself (listening, refusals); default JSON lines on stdout. */
  log?: Logger;
  /** Longest line accepted, in bytes; a longer one is dropped and reported (default 64 KiB). */
  maxLineBytes?: number;
  /** Most connections at once; one more is closed as it is accepted (default 16). */
  maxConnections?: number;
}

/** A running log sink. */
export interface LogSink {
  /** The address bound (with the actual port when tcp port 0 was asked for). */
  address: Address;
  /** Stops accepting, passes on what was received, and closes every connection. */
  close(): Promise<void>;
}

const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const DEFAULT_MAX_CONNECTIONS = 16;

/**
 * The parent's end of the log channel: every line an enclave sends is written to `output`, for
 * journald or a collector to pick up. A JSON object line goes out as it came; anything else is
 * wrapped as `{"event":"log_sink.not_json","line":…}`, so the output stays one JSON object per
 * line whatever a peer sends. A line longer than `maxLineBytes` is dropped and reported as
 * `log_sink.line_dropped` with its size. While `output` is full, reading stops: the enclave's end
 * then buffers and drops by its own bound, and this process never holds more than one read per
 * connection (its lines are written out together).
 */
export async function startLogSink(options: LogSinkOptions): Promise<LogSink> {
  const output = options.output ?? process.stdout;
  const log = options.log ?? jsonLinesLogger;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const reading = new Set<Socket>();
  let outputFull = false;

  const emit = (text: string) => {
    if (output.write(text) || outputFull) return;
    outputFull = true;
    for (const socket of reading) socket.pause();
    output.once('drain', () => {
      outputFull = false;
      for (const socket of reading) socket.resume();
    });
  };
  /** The lines of the chunk being read, written out together: one write per chunk, not per line. */
  let batch = '';
  const pass = (line: string) => {
    if (line === '') return;
    batch += isJsonObject(line) ? `${line}\n` : formatLogLine({ level: 'warn', event: 'log_sink.not_json', line });
  };
  const flush = () => {
    if (batch === '') return;
    const text = batch;
    batch = '';
    emit(text);
  };

  const server = createServer((socket) => {
    socket.on('error', () => {});
    reading.add(socket);
    socket.once('close', () => reading.delete(socket));
    if (outputFull) socket.pause();
    const lines = new LineReader(
      maxLineBytes,
      pass,
      (bytes) => (batch += formatLogLine({ level: 'warn', event: 'log_sink.line_dropped', reason: 'too_long', bytes, limit: maxLineBytes })),
    );
    socket.on('data', (chunk: Buffer) => {
      lines.push(chunk);
      flush();
    });
    socket.once('end', () => {
      lines.end();
      flush();
      socket.end();
    });
  });
  const managed = new ManagedServer(server, {
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    onRefused: (socket, served) => {
      log({ level: 'warn', event: 'log_sink.refused', connections: served });
      socket.destroy();
    },
  });
  const address = await listenOn(server, options.listen);
  return { address, close: () => managed.close() };
}

/** Whether `line` is one JSON object: what every Cloister log line is. */
function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
