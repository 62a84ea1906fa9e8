import forge from 'node-forge';

/** The two extensions chain building needs, read from a certificate's DER. */
export interface ChainExtensions {
  /** basicConstraints cA (false when the extension is absent). */
  ca: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  pathLength?: number;
  /** keyUsage bits, when the extension is present. */
  keyUsage?: { digitalSignature: boolean; keyCertSign: boolean };
}

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const { Class, Type } = forge.asn1;

/**
 * Reads basicConstraints and keyUsage with node-forge's ASN.1 reader. node:crypto parses and
 * verifies certificates but exposes neither path lengths nor key usage; a full X.509 library
 * costs a millisecond per certificate, which would dominate a cold verification. Throws on DER
 * that does not have the X.509 shape.
 */
export function readChainExtensions(der: Uint8Array): ChainExtensions {
  const certificate = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString('binary')), true);
  const tbs = children(certificate)[0];
  const wrapper = children(tbs).find((node) => node.tagClass === Class.CONTEXT_SPECIFIC && node.type === 3);
  const result: ChainExtensions = { ca: false };
  for (const extension of wrapper ? children(children(wrapper)[0]) : []) {
    const parts = children(extension);
    const oid = forge.asn1.derToOid(bytesOf(parts[0]));
    const value = forge.asn1.fromDer(bytesOf(parts[parts.length - 1]), true);
    if (oid === BASIC_CONSTRAINTS) {
      for (const field of children(value)) {
        if (field.type === Type.BOOLEAN) result.ca = bytesOf(field).charCodeAt(0) !== 0;
        if (field.type === Type.INTEGER) result.pathLength = forge.util.createBuffer(bytesOf(field)).getInt(bytesOf(field).length * 8);
      }
    } else if (oid === KEY_USAGE) {
      // A BIT STRING: first the count of unused bits, then the bits, most significant first.
      const first = bytesOf(value).charCodeAt(1) || 0;
      result.keyUsage = { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0 };
    }
  }
  return result;
}

function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error('unexpected ASN.1 structure');
  return node.value;
}

function bytesOf(node: forge.asn1.Asn1 | undefined): string {
  if (!node || typeof node.value !== 'string') throw new Error('unexpected ASN.1 structure');
  return node.value;
}
