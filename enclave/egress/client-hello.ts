/**
 * Just enough TLS to read the server name (SNI) a client asks for in its first ClientHello
 * (RFC 8446 §4.1.2, RFC 6066 §3), so the egress can refuse a tunnel whose TLS names another host
 * than its CONNECT target (DESIGN.md, invariant 4). Nothing here decrypts or answers anything.
 */

/** TLS record content type of a handshake message; the first byte of every ClientHello record. */
export const TLS_HANDSHAKE_RECORD = 0x16;
/** Largest TLS plaintext record body (2^14 bytes); larger records are not TLS. */
export const MAX_TLS_RECORD_BODY = 16_384;

/** The input is no well-formed ClientHello record (or one this parser does not accept). */
export class MalformedClientHello extends Error {
  constructor(reason: string) {
    super(`malformed TLS ClientHello: ${reason}`);
    this.name = 'MalformedClientHello';
  }
}

/**
 * How many bytes the first TLS record takes in all (header included), once its 5-byte header is
 * in `bytes`; `undefined` while fewer than 5 bytes are there. Throws `MalformedClientHello` when
 * the header is not that of a handshake record of a plausible size.
 */
export function firstRecordLength(bytes: Buffer): number | undefined {
  if (bytes.length < 5) return undefined;
  if (bytes[0] !== TLS_HANDSHAKE_RECORD) throw new MalformedClientHello('not a handshake record');
  if (bytes[1] !== 3) throw new MalformedClientHello('not a TLS record version');
  const length = bytes.readUInt16BE(3);
  if (length === 0 || length > MAX_TLS_RECORD_BODY) throw new MalformedClientHello('record length out of range');
  return 5 + length;
}

/** A bounds-checked reader over one buffer; any read past the end is a `MalformedClientHello`. */
class Reader {
  constructor(
    private readonly bytes: Buffer,
    private offset = 0,
    private readonly end = bytes.length,
  ) {}

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw new MalformedClientHello(`truncated ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u24(what: string): number {
    this.need(3, what);
    const value = this.bytes.readUIntBE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.offset += n;
  }

  /** A sub-reader over the next `n` bytes, which this reader then skips. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const inner = new Reader(this.bytes, this.offset, this.offset + n);
    this.offset += n;
    return inner;
  }

  take(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

const SERVER_NAME_EXTENSION = 0;
const HOST_NAME_ENTRY = 0;

/**
 * The SNI host name in a TLS record holding a whole ClientHello (`record` is exactly the first
 * record, header included), as sent (not canonicalised); `undefined` when the ClientHello has no
 * server_name extension or no host_name entry in it. Throws `MalformedClientHello` for anything
 * else: another record or handshake type, a ClientHello split over several records, a length
 * that does not add up, duplicate server_name extensions or host_name entries, or a name that is
 * empty or not printable ASCII.
 */
export function parseClientHelloSni(record: Buffer): string | undefined {
  const total = firstRecordLength(record);
  if (total === undefined || total !== record.length) throw new MalformedClientHello('not exactly one record');
  const body = new Reader(record, 5);
  if (body.u8('handshake type') !== 1) throw new MalformedClientHello('not a ClientHello');
  const helloLength = body.u24('handshake length');
  if (helloLength !== body.remaining) throw new MalformedClientHello('ClientHello not exactly one record (fragmented or padded)');
  const hello = body.sub(helloLength, 'ClientHello');
  hello.skip(2, 'legacy version');
  hello.skip(32, 'random');
  hello.skip(hello.u8('session id length'), 'session id');
  const suites = hello.u16('cipher suites length');
  if (suites === 0 || suites % 2 !== 0) throw new MalformedClientHello('bad cipher suites length');
  hello.skip(suites, 'cipher suites');
  const compression = hello.u8('compression methods length');
  if (compression === 0) throw new MalformedClientHello('no compression method');
  hello.skip(compression, 'compression methods');
  if (hello.remaining === 0) return undefined; // No extensions at all (allowed before TLS 1.3).
  const extensions = hello.sub(hello.u16('extensions length'), 'extensions');
  if (hello.remaining !== 0) throw new MalformedClientHello('bytes after the extensions');
  let name: string | undefined;
  let seen = false;
  while (extensions.remaining > 0) {
    const type = extensions.u16('extension type');
    const data = extensions.sub(extensions.u16('extension length'), 'extension');
    if (type !== SERVER_NAME_EXTENSION) continue;
    if (seen) throw new MalformedClientHello('more than one server_name extension');
    seen = true;
    const list = data.sub(data.u16('server name list length'), 'server name list');
    if (data.remaining !== 0) throw new MalformedClientHello('bytes after the server name list');
    while (list.remaining > 0) {
      const entryType = list.u8('server name type');
      const value = list.take(list.u16('server name length'), 'server name');
      if (entryType !== HOST_NAME_ENTRY) continue;
      if (name !== undefined) throw new MalformedClientHello('more than one host_name');
      if (value.length === 0 || !value.every((b) => b > 0x20 && b < 0x7f)) throw new MalformedClientHello('host_name not printable ASCII');
      name = value.toString('latin1');
    }
  }
  return name;
}
