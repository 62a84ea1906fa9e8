import type { IncomingMessage, ServerResponse } from 'node:http';
import { type IngressBinding, encodeIngressBinding } from '../../attestation/ingress-binding';
import type { Nsm } from '../../attestation/nsm/nsm';
import type { Logger } from '../../contract/log';
import type { RateLimit } from './rate-limit';
import { sendError } from './respond';

/** Paths under this prefix are the ingress's own and never reach the app. */
export const WELL_KNOWN_PREFIX = '/.well-known/cloister/';
const ATTESTATION_PATH = `${WELL_KNOWN_PREFIX}attestation`;
const CONFIG_PATH = `${WELL_KNOWN_PREFIX}config`;
/** 1 to 64 bytes as hex (DESIGN.md); the NSM would take more, but clients need no more. */
const NONCE_HEX = /^(?:[0-9a-fA-F]{2}){1,64}$/;

export interface WellKnownOptions {
  nsm: Nsm;
  /** DER SubjectPublicKeyInfo of the ingress TLS key. */
  tlsSpki: Uint8Array;
  binding: IngressBinding;
  configJson: string;
  rateLimit: RateLimit;
  log: Logger;
}

/**
 * The ingress's own endpoints: `GET /.well-known/cloister/attestation?nonce=<hex>`, a fresh
 * attestation document binding the TLS key, the configuration digest and the instance id, and
 * `GET /.well-known/cloister/config`, the configuration that digest is of.
 */
export class WellKnown {
  private readonly userData: Uint8Array;
  private readonly config: Buffer;

  /** Throws a TypeError when the binding's digest or instance id has the wrong length. */
  constructor(private readonly options: WellKnownOptions) {
    this.userData = encodeIngressBinding(options.binding);
    this.config = Buffer.from(options.configJson, 'utf8');
  }

  /** Answers a request whose path starts with `WELL_KNOWN_PREFIX`; `client` is whom the rate limit counts it against. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: string, client: string): Promise<void> {
    if (path !== ATTESTATION_PATH && path !== CONFIG_PATH) {
      return sendError(res, 404, 'NOT_FOUND', `${path} is not an endpoint of the ingress; it serves ${ATTESTATION_PATH} and ${CONFIG_PATH}.`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', `${path} answers GET only.`, { headers: { allow: 'GET, HEAD' } });
    }
    if (path === CONFIG_PATH) return send(res, 'application/json; charset=utf-8', this.config);
    await this.attest(res, query, client);
  }

  private async attest(res: ServerResponse, query: string, client: string): Promise<void> {
    const nonces = new URLSearchParams(query).getAll('nonce');
    if (nonces.length > 1 || (nonces.length === 1 && !NONCE_HEX.test(nonces[0]!))) {
      return sendError(res, 400, 'BAD_NONCE', 'nonce must be given once, as 1 to 64 bytes in hex (2 to 128 hex digits).');
    }
    const decision = this.options.rateLimit.take(client);
    if (!decision.allowed) {
      return sendError(res, 429, 'RATE_LIMITED', 'Too many attestation requests; retry later. One document per connection is enough.', {
        headers: { 'retry-after': String(decision.retryAfterSeconds) },
      });
    }
    let document: Uint8Array;
    try {
      document = await this.options.nsm.attestation({
        publicKey: this.options.tlsSpki,
        userData: this.userData,
        nonce: nonces.length === 1 ? Buffer.from(nonces[0]!, 'hex') : undefined,
      });
    } catch (e) {
      this.options.log({ level: 'error', event: 'attestation_failed', code: (e as { code?: string }).code ?? 'UNKNOWN' });
      return sendError(res, 500, 'ATTESTATION_FAILED', 'The enclave could not produce an attestation document; retry, and report it if it persists.');
    }
    send(res, 'application/cbor', Buffer.from(document));
  }
}

function send(res: ServerResponse, contentType: string, body: Buffer): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}
