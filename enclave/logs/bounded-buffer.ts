/**
 * Lines waiting to be sent, at most `maxBytes` of them (UTF-8). A line that does not fit is
 * dropped and counted rather than waited for: whoever writes a log line must never be held up by
 * the reader of the logs. Every line written is either taken (in order) or counted as dropped.
 */
export class BoundedLineBuffer {
  private readonly lines: { text: string; bytes: number }[] = [];
  /** Index of the oldest line in `lines`: taking from the front costs nothing until compacted. */
  private head = 0;
  private held = 0;
  private droppedSince = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer; got ${maxBytes}.`);
  }

  /** Bytes held now; never more than `maxBytes`. */
  get bytes(): number {
    return this.held;
  }

  /** Lines held now. */
  get length(): number {
    return this.lines.length - this.head;
  }

  /** Lines dropped since the last `takeDropped()`. */
  get dropped(): number {
    return this.droppedSince;
  }

  /** Keeps `line` if it fits; returns false (and counts it) if it was dropped. */
  push(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.held + bytes > this.maxBytes) {
      this.droppedSince++;
      return false;
    }
    this.lines.push({ text: line, bytes });
    this.held += bytes;
    return true;
  }

  /** The oldest line, removed; undefined when empty. */
  shift(): string | undefined {
    if (this.head >= this.lines.length) return undefined;
    const line = this.lines[this.head]!;
    this.lines[this.head++] = undefined as never;
    this.held -= line.bytes;
    if (this.head >= this.lines.length) {
      this.lines.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines.splice(0, this.head);
      this.head = 0;
    }
    return line.text;
  }

  /** The count of lines dropped since the last call, which starts over at 0. */
  takeDropped(): number {
    const count = this.droppedSince;
    this.droppedSince = 0;
    return count;
  }
}
