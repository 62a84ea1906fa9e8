import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { MAX_DOCUMENT_BYTES } from '../attestation';
import { ClientError } from './errors';
import { presentedKey } from './spki';

/** Where the ingress serves attestation documents (DESIGN.md, "Attestation binding"). */
export const ATTESTATION_PATH = '/.well-known/cloister/attestation';
/** A fresh random nonce per request: 32 bytes, well under the 64 the ingress accepts. */
const NONCE_BYTES = 32;
const DEFAULT_TIMEOUT_MS = 10_000;

/** A document as served, NOT yet verified, with the key of the connection that served it. */
export interface FetchedAttestation {
  /** The server's origin, `https://host:port`. */
  url: string;
  /** The nonce sent, which the document must carry. */
  nonce: Buffer;
  /** The raw COSE_Sign1 bytes. */
  bytes: Buffer;
  /** SPKI DER of the TLS key the server presented on the connection the document came over. */
  spki: Buffer;
}

/** How `fetchAttestation` and `attest` connect. */
export interface FetchOptions {
  /** Give up after this long (default 10 s): `ClientError('TIMEOUT')`. */
  timeoutMs?: number;
}

/**
 * The origin of an `https:` URL (scheme, host and port only), or `ClientError('BAD_URL')`.
 *
 * @example
 * httpsOrigin('https://127.0.0.1:8443/hello').origin; // 'https://127.0.0.1:8443'
 */
export function httpsOrigin(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientError('BAD_URL', `${String(url)} is not a URL; give the server as https://host[:port].`);
  }
  if (parsed.protocol !== 'https:') {
    throw new ClientError('BAD_URL', `${parsed.href} is not an https: URL: enclaves are reached over TLS only, since trust comes from their TLS key.`);
  }
  return new URL(`https://${parsed.host}`);
}

/**
 * Asks the server for an attestation document with a fresh nonce, over a new TLS connection made
 * without CA validation (trust comes from the document, not from a CA), and records the key that
 * connection presented. Nothing but that GET is sent. Connection problems are `ClientError`s
 * (`UNREACHABLE`, `TIMEOUT`, `NO_ATTESTATION`); the document itself is not checked here.
 *
 * @example
 * const fetched = await fetchAttestation('https://127.0.0.1:8443');
 * verifyAttestation(fetched.bytes, { root, at: Date.now(), policy: { nonce: fetched.nonce, publicKey: fetched.spki } });
 */
export function fetchAttestation(url: string | URL, options: FetchOptions = {}): Promise<FetchedAttestation> {
  const origin = httpsOrigin(url);
  const nonce = randomBytes(NONCE_BYTES);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request({
      host: origin.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: origin.port || 443,
      path: `${ATTESTATION_PATH}?nonce=${nonce.toString('hex')}`,
      headers: { accept: 'application/cbor' },
      rejectUnauthorized: false,
      // A connection of its own, never a pooled one, so the key recorded is this connection's.
      agent: false,
      timeout: timeoutMs,
    });
    const fail = (error: Error) => {
      req.destroy();
      reject(error);
    };
    req.on('timeout', () => fail(new ClientError('TIMEOUT', `${origin.host} did not answer the attestation request within ${timeoutMs} ms.`)));
    req.on('error', (e) => fail(new ClientError('UNREACHABLE', `Cannot reach ${origin.host}: ${e.message}.`, { cause: e })));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(
          new ClientError(
            'NO_ATTESTATION',
            `${origin.host} answered the attestation request with HTTP ${res.statusCode}, not a document: it is not a Cloister enclave.`,
          ),
        );
      }
      let spki: Buffer;
      try {
        spki = presentedKey(res.socket as TLSSocket);
      } catch (e) {
        return fail(e as Error);
      }
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > MAX_DOCUMENT_BYTES) {
          fail(new ClientError('NO_ATTESTATION', `${origin.host} sent more than ${MAX_DOCUMENT_BYTES} bytes for an attestation document.`));
        } else chunks.push(chunk);
      });
      res.on('end', () => resolve({ url: origin.origin, nonce, bytes: Buffer.concat(chunks), spki }));
      res.on('error', (e) => fail(new ClientError('UNREACHABLE', `The attestation response from ${origin.host} broke off: ${e.message}.`, { cause: e })));
    });
    req.end();
  });
}
