/**
 * Cuts a byte stream into lines of at most `maxBytes` (UTF-8, newline excluded) without holding
 * more than that: a longer line is not passed on but reported, once, with its size when it ends.
 */
export class LineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the over-long line being skipped; undefined while none is. */
  private skipped: number | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
      this.take(chunk.subarray(from, newline));
      this.finishLine();
      from = newline + 1;
    }
    this.take(chunk.subarray(from));
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (this.pendingBytes > 0 || this.skipped !== undefined) this.finishLine();
  }

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.skipped !== undefined) {
      this.skipped += part.length;
    } else if (this.pendingBytes + part.length > this.maxBytes) {
      this.skipped = this.pendingBytes + part.length;
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      // A copy: the socket's chunk is not kept alive by a line's few bytes.
      this.pending.push(Buffer.from(part));
      this.pendingBytes += part.length;
    }
  }

  private finishLine(): void {
    if (this.skipped !== undefined) {
      const bytes = this.skipped;
      this.skipped = undefined;
      this.onTooLong(bytes);
      return;
    }
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
