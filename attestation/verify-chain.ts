import { type KeyObject, X509Certificate, createHash } from 'node:crypto';
import { type ChainExtensions, readChainExtensions } from './certificate-extensions';
import { AttestationError } from './errors';
import type { TrustedRoot } from './roots';

/** One certificate of a verified chain, for reports. */
export interface ChainLink {
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

interface VerifiedChain {
  /** Root first, leaf last. */
  links: ChainLink[];
  /** The leaf's public key, made once: the document's signature is checked with it every time. */
  leafKey: KeyObject;
}

/**
 * Chains whose structure and signatures were already verified, by the digest of root, bundle and
 * leaf. Validity windows are still checked on every use against the instant asked for; only the
 * signature and constraint work is reused. The document signature is never cached.
 */
const verifiedChains = new Map<string, VerifiedChain>();
const MAX_CACHED_CHAINS = 256;

/**
 * Verifies pinned root → cabundle[1..] → leaf: each certificate issued and signed by the one
 * before it, every issuer a CA allowed to sign certificates with a path length that admits the
 * CAs below it, the leaf an end entity allowed to sign, every key ECDSA P-384, and every
 * certificate valid at `at`. The bundle's own first certificate (its copy of the root) is never
 * trusted. Returns the links and the leaf's key, which signed the document.
 */
export function verifyChain(root: TrustedRoot, cabundle: readonly Uint8Array[], leafDer: Uint8Array, at: Date): VerifiedChain {
  const key = chainKey(root, cabundle, leafDer);
  let chain = verifiedChains.get(key);
  if (!chain) {
    try {
      chain = verifyStructure(root, cabundle, leafDer);
    } catch (e) {
      // OpenSSL reports a corrupt key or signature inside a parsed certificate by throwing.
      if (e instanceof AttestationError) throw e;
      throw chainError('a certificate in it is corrupt', e);
    }
    if (verifiedChains.size >= MAX_CACHED_CHAINS) verifiedChains.delete(verifiedChains.keys().next().value!);
    verifiedChains.set(key, chain);
  }
  for (const link of chain.links) {
    if (at < link.notBefore || at > link.notAfter) {
      throw new AttestationError(
        'EXPIRED',
        `The certificate "${link.subject}" is valid from ${link.notBefore.toISOString()} to ${link.notAfter.toISOString()}, ` +
          `not at ${at.toISOString()}; a stored document must be checked at its own time, a live one must be fresh.`,
      );
    }
  }
  return chain;
}

/** Forgets every cached chain, so the next verification does all the work (benchmarks measure that). */
export function clearVerifiedChains(): void {
  verifiedChains.clear();
}

function verifyStructure(root: TrustedRoot, cabundle: readonly Uint8Array[], leafDer: Uint8Array): VerifiedChain {
  const ders = [root.der, ...cabundle.slice(1), leafDer];
  const certs = ders.map((der, i) => parse(der, i === ders.length - 1 ? 'leaf certificate' : i === 0 ? 'root' : `cabundle[${i}]`));
  const links: ChainLink[] = [];
  certs.forEach((cert, i) => {
    const isLeaf = i === certs.length - 1;
    const name = subjectOf(cert);
    const details = cert.publicKey.asymmetricKeyDetails;
    if (cert.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') {
      throw chainError(`"${name}" does not have an ECDSA P-384 key`);
    }
    const { ca, pathLength, keyUsage } = extensionsOf(ders[i]!, name);
    if (isLeaf) {
      if (ca) throw chainError(`the leaf "${name}" is a CA certificate, not an end entity`);
      if (keyUsage && !keyUsage.digitalSignature) {
        throw chainError(`the leaf "${name}" is not allowed to make digital signatures`);
      }
    } else {
      if (!ca) throw chainError(`"${name}" is not a CA certificate, yet it issues the next one`);
      if (keyUsage && !keyUsage.keyCertSign) {
        throw chainError(`"${name}" is not allowed to sign certificates`);
      }
      const casBelow = certs.length - 2 - i;
      if (pathLength !== undefined && casBelow > pathLength) {
        throw chainError(`"${name}" allows ${pathLength} CA certificates below it, but the chain has ${casBelow}`);
      }
    }
    if (i > 0) {
      const issuer = certs[i - 1]!;
      if (!cert.checkIssued(issuer)) throw chainError(`"${name}" was not issued by "${subjectOf(issuer)}"`);
      if (!cert.verify(issuer.publicKey)) throw chainError(`the signature on "${name}" is not by "${subjectOf(issuer)}"`);
    }
    links.push({ subject: name, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) });
  });
  return { links, leafKey: certs[certs.length - 1]!.publicKey };
}

function parse(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw chainError(`the ${what} is not a readable X.509 certificate`, e);
  }
}

function extensionsOf(der: Uint8Array, name: string): ChainExtensions {
  try {
    return readChainExtensions(der);
  } catch (e) {
    throw chainError(`the extensions of "${name}" cannot be read`, e);
  }
}

const subjectOf = (cert: X509Certificate) => /CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');

function chainKey(root: TrustedRoot, cabundle: readonly Uint8Array[], leaf: Uint8Array): string {
  const hash = createHash('sha256').update(root.der);
  for (const der of [...cabundle.slice(1), leaf]) hash.update(String(der.length)).update(':').update(der);
  return hash.digest('hex');
}

const chainError = (what: string, cause?: unknown) =>
  new AttestationError('BAD_CHAIN', `The certificate chain does not lead to the pinned root: ${what}.`, { cause });
