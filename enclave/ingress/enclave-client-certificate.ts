import type { Nsm } from '../../attestation/nsm/nsm';
import { DER_TAG, der, derOid, readChildren, readTlv } from './der';
import { generateP256Key, selfSign } from './self-signed';

/**
 * The extension that carries an enclave's attestation document in its client certificate:
 * OID 2.25.149367096520242324618909596432467449390 (the UUID
 * 705f0e6f-8a01-412a-ad69-091a2217562e as an integer, per ITU-T X.667), non-critical, whose
 * extnValue is the DER of
 *
 *     CloisterAttestation ::= OCTET STRING  -- the raw COSE_Sign1 bytes of a Nitro document
 *
 * The document's `public_key` is the certificate's own SPKI DER, so whoever completes a TLS
 * handshake with the certificate holds a key born inside the attested enclave.
 */
export const ENCLAVE_ATTESTATION_OID = '2.25.149367096520242324618909596432467449390';
const OID_DER = derOid(ENCLAVE_ATTESTATION_OID);

/**
 * How long the certificate is declared valid. The ingress refuses documents older than an hour
 * whatever the certificate says, so a peer reissues hourly; the two agree so tools reading the
 * certificate are not misled.
 */
const VALIDITY_MS = 3_600_000;

/**
 * A client certificate for an enclave calling another enclave's ingress (mutual attestation):
 * a fresh P-256 key, an attestation document from `nsm` whose `public_key` is that key's SPKI,
 * and a self-signed certificate carrying the document. Issue a new one before an hour has passed.
 *
 * @example
 * const { keyPem, certPem } = await issueEnclaveClientCertificate(nsm, 'scorer');
 * https.request(url, { key: keyPem, cert: certPem, agent: attestedAgent });
 */
export async function issueEnclaveClientCertificate(nsm: Nsm, commonName: string): Promise<{ keyPem: string; certPem: string }> {
  const key = await generateP256Key();
  const document = await nsm.attestation({ publicKey: key.spkiDer });
  return selfSign(key, { commonName, validityMs: VALIDITY_MS, extensions: [enclaveAttestationExtension(document)] });
}

/** The DER of the non-critical Extension carrying `document` (see `ENCLAVE_ATTESTATION_OID`). */
export function enclaveAttestationExtension(document: Uint8Array): Buffer {
  // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (so absent), extnValue OCTET STRING }
  return der(DER_TAG.sequence, OID_DER, der(DER_TAG.octetString, der(DER_TAG.octetString, document)));
}

/**
 * The attestation document carried by a client certificate (DER), or undefined when it has no
 * such extension. Throws a TypeError when the certificate is not DER or the extension is not
 * exactly one OCTET STRING: a certificate that claims to be an enclave's and is malformed is
 * refused, not ignored.
 */
export function readEnclaveAttestation(certificateDer: Uint8Array): Uint8Array | undefined {
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { …, [3] EXPLICIT Extensions }, … }
  const tbs = readChildren(readTlv(certificateDer).content)[0];
  if (tbs?.tag !== DER_TAG.sequence) throw new TypeError('Not an X.509 certificate.');
  const wrapper = readChildren(tbs.content).find((field) => field.tag === DER_TAG.explicit3);
  if (!wrapper) return undefined;
  const ours = readChildren(readTlv(wrapper.content).content)
    .map((extension) => readChildren(extension.content))
    .filter(([oid]) => oid !== undefined && der(oid.tag, oid.content).equals(OID_DER));
  if (ours.length === 0) return undefined;
  // RFC 5280 allows an extension once; two documents would leave it open which one was checked.
  if (ours.length > 1) throw new TypeError('The certificate carries the attestation extension more than once.');
  const [, ...rest] = ours[0]!;
  const value = rest[rest.length - 1];
  if (value?.tag !== DER_TAG.octetString || rest.length > 2 || (rest.length === 2 && rest[0]!.tag !== DER_TAG.boolean)) {
    throw new TypeError('The attestation extension is malformed.');
  }
  const document = readTlv(value.content);
  if (document.tag !== DER_TAG.octetString || document.end !== value.content.length) {
    throw new TypeError('The attestation extension does not hold one OCTET STRING.');
  }
  return document.content;
}
