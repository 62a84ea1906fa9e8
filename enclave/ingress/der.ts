/**
 * The few DER shapes Cloister's self-signed certificates need, written and read by hand. The ASN.1
 * libraries at hand (asn1js under @peculiar/x509, node-forge) keep OID arcs as JavaScript numbers
 * or strings they cannot read back, and the arc of a 2.25 (UUID) OID is a 128-bit integer: a
 * certificate built or re-serialised by them silently loses it.
 */

export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  /** [0] EXPLICIT and [3] EXPLICIT, the version and extensions of a TBSCertificate. */
  explicit0: 0xa0,
  explicit3: 0xa3,
} as const;

/** One tag-length-value element: its tag, its content and where the element ends in the input. */
export interface Tlv {
  tag: number;
  content: Uint8Array;
  end: number;
}

/** The DER element `tag` around the concatenated `contents` (single-byte tags only). */
export function der(tag: number, ...contents: Uint8Array[]): Buffer {
  const content = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** An OBJECT IDENTIFIER, arcs of any size. Throws a TypeError for a malformed one. */
export function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map((arc) => {
    if (!/^(0|[1-9]\d*)$/.test(arc)) throw new TypeError(`"${oid}" is not an object identifier.`);
    return BigInt(arc);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new TypeError(`"${oid}" is not an object identifier.`);
  const bytes: number[] = [];
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    // Base 128, most significant group first, every byte but the last with its high bit set.
    const groups = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return der(DER_TAG.oid, Buffer.from(bytes));
}

/** A non-negative INTEGER from its big-endian magnitude. */
export function derUnsigned(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  // A leading 1 bit would read as negative: DER then prefixes a zero byte.
  return der(DER_TAG.integer, trimmed[0]! & 0x80 ? Buffer.from([0]) : Buffer.alloc(0), trimmed);
}

/** An X.509 Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5), to the second. */
export function derTime(date: Date): Buffer {
  const text = date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return date.getUTCFullYear() < 2050 ? der(DER_TAG.utcTime, Buffer.from(text.slice(2))) : der(DER_TAG.generalizedTime, Buffer.from(text));
}

/**
 * The element starting at `offset` of `input`, read strictly (definite, shortest-form lengths,
 * all within the input). Throws a TypeError otherwise.
 */
export function readTlv(input: Uint8Array, offset = 0): Tlv {
  const bad = (why: string) => new TypeError(`Not DER: ${why}.`);
  if (offset + 2 > input.length) throw bad('the input ends inside an element header');
  const tag = input[offset]!;
  if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tags are not expected here');
  let length = input[offset + 1]!;
  let at = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw bad('indefinite or oversized length');
    if (at + count > input.length) throw bad('the input ends inside a length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[at + i]!;
    if (length < 0x80 || input[at] === 0) throw bad('a length not in its shortest form');
    at += count;
  }
  if (at + length > input.length) throw bad('an element longer than its input');
  return { tag, content: input.subarray(at, at + length), end: at + length };
}

/** The elements inside a constructed element's content, in order. */
export function readChildren(content: Uint8Array): Tlv[] {
  const children: Tlv[] = [];
  for (let at = 0; at < content.length; at = children[children.length - 1]!.end) children.push(readTlv(content, at));
  return children;
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
