import type { Socket } from 'node:net';
import { formatLogLine } from '../../contract/log';
import { type Address } from '../../transport/address';
import { openConnection } from '../../transport/connect';
import { Backoff } from '../backoff';
import { BoundedLineBuffer } from './bounded-buffer';

export interface LogChannelOptions {
  /** The parent's log sink: vsock://3:5003 in an enclave, a unix socket in local mode. */
  sink: Address;
  /** Most bytes of lines held while the sink is slow or away; beyond it lines are dropped and counted. Default 1 MiB. */
  maxBufferBytes?: number;
  /** How reconnecting is spaced (default: 50 ms doubling to 1 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** How long a line may wait for others to share its write (default 10 ms). */
  flushDelayMs?: number;
}

export const DEFAULT_LOG_BUFFER_BYTES = 1024 * 1024;
/** Lines are sent in chunks of about this size: one write per chunk rather than per line. */
const CHUNK_BYTES = 64 * 1024;
/**
 * A socket write costs tens of microseconds on a busy machine, as much as the request a line
 * describes: lines written within this time go out in one write, so that logging every request
 * costs a write every few requests rather than one or two for each.
 */
const DEFAULT_LOG_FLUSH_DELAY_MS = 10;
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * The enclave's end of the log channel: JSON lines to the parent's log sink over one connection.
 * `write` never blocks and never throws: lines wait in a bounded buffer while the sink is away or
 * does not read (the socket's own buffer is not filled past its high-water mark), and a line that
 * does not fit is dropped and counted. Once the sink reads again, a `log.dropped` line with the
 * count goes first. A lost connection is retried with backoff, forever, until `close`.
 */
export class LogChannel {
  private readonly buffer: BoundedLineBuffer;
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  /** The socket refused more (its buffer is past the high-water mark) until it drains. */
  private blocked = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly flushDelayMs: number;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LogChannelOptions) {
    this.buffer = new BoundedLineBuffer(options.maxBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES);
    this.backoff = new Backoff({ initialMs: options.reconnect?.initialMs ?? 50, maxMs: options.reconnect?.maxMs ?? 1_000 });
    this.flushDelayMs = options.flushDelayMs ?? DEFAULT_LOG_FLUSH_DELAY_MS;
    this.connect();
  }

  /** Queues one line (with its newline) for the sink; drops and counts it if the buffer is full. */
  readonly write = (line: string): void => {
    this.buffer.push(line);
    if (this.socket === undefined || this.blocked) return;
    if (this.buffer.bytes >= CHUNK_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(this.flush, this.flushDelayMs);
  };

  /**
   * Stops reconnecting and gives what is buffered up to `timeoutMs` to reach the sink, so the
   * last lines of a stopping enclave are not lost when the sink is there; then closes.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (socket === undefined) return;
    this.flush();
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const drained = () => {
      if (this.buffer.length === 0 && this.buffer.dropped === 0) socket.end();
    };
    socket.on('drain', drained);
    drained();
    await ended;
    clearTimeout(timer);
  }

  private connect(): void {
    const started = Date.now();
    // Through a promise even if opening throws at once: the channel must never throw into its caller.
    Promise.resolve()
      .then(() => openConnection(this.options.sink, { timeoutMs: CONNECT_TIMEOUT_MS }))
      .then(
        (socket) => {
          if (this.closed) {
            socket.destroy();
            return;
          }
          this.socket = socket;
          this.blocked = false;
          // The sink has nothing to say; whatever it sends is read and ignored so it cannot pile up.
          socket.resume();
          socket.on('error', () => {});
          socket.on('drain', () => {
            this.blocked = false;
            this.flush();
          });
          socket.once('close', () => {
            this.socket = undefined;
            this.retry(Date.now() - started);
          });
          this.flush();
        },
        () => this.retry(0),
      );
  }

  private retry(ranMs: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.delayAfter(ranMs));
    // A sink that never comes must not keep a stopping process alive.
    this.retryTimer.unref();
  }

  /** Sends buffered lines, the count of dropped ones first, until the socket asks to wait. */
  private readonly flush = (): void => {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const socket = this.socket;
    if (socket === undefined || this.blocked || socket.destroyed) return;
    const dropped = this.buffer.takeDropped();
    let chunk = dropped > 0 ? formatLogLine({ level: 'warn', event: 'log.dropped', count: dropped }) : '';
    for (;;) {
      const line = this.buffer.shift();
      if (line !== undefined) chunk += line;
      if (chunk.length === 0) return;
      if (line === undefined || chunk.length >= CHUNK_BYTES) {
        const more = socket.write(chunk);
        chunk = '';
        if (!more) {
          this.blocked = true;
          return;
        }
        if (line === undefined) return;
      }
    }
  };
}
