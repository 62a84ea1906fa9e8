import type { ItemParser } from './item-sink';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Drops a UTF-8 byte order mark at the start of the body (spreadsheet exports begin with one),
 * which would otherwise become part of the first item. It may arrive split across chunks.
 */
export class BomSkipper implements ItemParser {
  private head: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly inner: ItemParser) {}

  write(chunk: Buffer): void {
    if (this.head === undefined) {
      this.inner.write(chunk);
      return;
    }
    const head = Buffer.concat([this.head, chunk]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) {
      this.head = head;
      return;
    }
    this.head = undefined;
    this.inner.write(head.subarray(head.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0));
  }

  end(): void {
    if (this.head !== undefined && this.head.length > 0) this.inner.write(this.head);
    this.inner.end();
  }
}
