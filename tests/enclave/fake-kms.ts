/**
 * A stand-in for AWS KMS that speaks its JSON protocol on 127.0.0.1, for the real
 * `@aws-sdk/client-kms` with an endpoint override. It implements Decrypt with a Recipient only,
 * the way KMS does it for an enclave: the attestation document must verify under the given root
 * now, its PCR0 and PCR16 must satisfy the key policy (`kms:RecipientAttestation:ImageSha384` and
 * `:PCR16`), and the plaintext is answered as a CMS EnvelopedData to the document's public key
 * (RSAES-OAEP-SHA-256 + AES-256-CBC), never in the clear.
 *
 * "Encryption" is the fake's own: {@link FakeKms.encrypt} returns an opaque ciphertext blob (a
 * random handle the fake maps to the plaintext), as `aws kms encrypt` would for a real key.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TrustedRoot, verifyAttestation } from '../../attestation';
import { buildEnvelope } from '../attestation/kms/cms-builder';

export const FAKE_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-1111-2222-3333-444444444444';

/** What the key policy demands of the Recipient attestation: accepted values per condition, lower-case hex. */
export interface FakeKeyPolicy {
  /** `kms:RecipientAttestation:ImageSha384`, i.e. PCR0. */
  imageSha384: string;
  /** `kms:RecipientAttestation:PCR16`, i.e. pcr16For(config digest). */
  pcr16: string;
}

/** One Decrypt the fake answered, for assertions. */
export interface FakeKmsCall {
  outcome: 'released' | 'denied' | 'invalid';
  reason?: string;
  pcr16?: string;
}

const MAX_BODY_BYTES = 64 * 1024;

export class FakeKms {
  readonly calls: FakeKmsCall[] = [];
  private readonly blobs = new Map<string, { plaintext: Buffer; keyId: string }>();
  private server?: Server;

  constructor(
    private readonly root: TrustedRoot,
    /** Mutable, so a test can change the policy between boots. */
    public policy: FakeKeyPolicy,
  ) {}

  /** A ciphertext blob only this fake can decrypt (with an attested Recipient), base64 as the config holds it. */
  encrypt(plaintext: Buffer | string, keyId = FAKE_KEY_ARN): string {
    const blob = Buffer.concat([Buffer.from('fake-kms-blob:'), randomBytes(32)]);
    this.blobs.set(blob.toString('base64'), { plaintext: Buffer.from(plaintext), keyId });
    return blob.toString('base64');
  }

  get released(): number {
    return this.calls.filter((c) => c.outcome === 'released').length;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('the fake KMS is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return this.error(res, 413, 'ValidationException', 'request too large');
      chunks.push(chunk);
    }
    if (req.method !== 'POST' || req.url !== '/') return this.error(res, 400, 'UnknownOperationException', 'POST / only');
    if (req.headers['x-amz-target'] !== 'TrentService.Decrypt') {
      return this.error(res, 400, 'UnknownOperationException', `unsupported target ${String(req.headers['x-amz-target'])}`);
    }
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') return this.error(res, 400, 'ValidationException', 'bad content type');
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return this.error(res, 400, 'MissingAuthenticationTokenException', 'request is not signed');
    }
    let body: { CiphertextBlob?: unknown; KeyId?: unknown; Recipient?: { AttestationDocument?: unknown; KeyEncryptionAlgorithm?: unknown } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return this.error(res, 400, 'SerializationException', 'body is not JSON');
    }
    const entry = typeof body.CiphertextBlob === 'string' ? this.blobs.get(body.CiphertextBlob) : undefined;
    if (entry === undefined) return this.refuse(res, 'invalid', 400, 'InvalidCiphertextException', undefined, 'unknown ciphertext');
    if (body.KeyId !== undefined && body.KeyId !== entry.keyId) {
      return this.refuse(res, 'invalid', 400, 'IncorrectKeyException', undefined, 'the ciphertext was encrypted under another key');
    }
    // Like a key policy that requires the attestation conditions: no Recipient, no plaintext.
    const recipient = body.Recipient;
    if (recipient === undefined || typeof recipient.AttestationDocument !== 'string') {
      return this.refuse(res, 'denied', 400, 'AccessDeniedException', undefined, 'the key policy requires a Recipient attestation');
    }
    if (recipient.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256') {
      return this.refuse(res, 'invalid', 400, 'ValidationException', undefined, 'KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256');
    }
    let document;
    try {
      document = verifyAttestation(Buffer.from(recipient.AttestationDocument, 'base64'), { root: this.root, at: Date.now() });
    } catch (e) {
      return this.refuse(res, 'invalid', 400, 'ValidationException', undefined, `attestation document refused: ${(e as Error).message}`);
    }
    const pcr0 = document.pcrs.get(0);
    const pcr16 = document.pcrs.get(16);
    if (pcr0 !== this.policy.imageSha384 || pcr16 !== this.policy.pcr16) {
      return this.refuse(res, 'denied', 400, 'AccessDeniedException', pcr16, 'the key policy does not allow this enclave (RecipientAttestation conditions)');
    }
    if (document.publicKey === null) return this.refuse(res, 'invalid', 400, 'ValidationException', pcr16, 'the document has no public_key');
    let publicKey;
    try {
      publicKey = createPublicKey({ key: Buffer.from(document.publicKey), format: 'der', type: 'spki' });
    } catch {
      return this.refuse(res, 'invalid', 400, 'ValidationException', pcr16, 'public_key is not an SPKI');
    }
    const envelope = buildEnvelope({ plaintext: entry.plaintext, recipients: [{ publicKey }] });
    this.calls.push(pcr16 === undefined ? { outcome: 'released' } : { outcome: 'released', pcr16 });
    this.json(res, 200, { KeyId: entry.keyId, CiphertextForRecipient: envelope.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
  }

  private refuse(res: ServerResponse, outcome: 'denied' | 'invalid', status: number, type: string, pcr16: string | undefined, reason: string): void {
    const call: FakeKmsCall = { outcome, reason };
    if (pcr16 !== undefined) call.pcr16 = pcr16;
    this.calls.push(call);
    this.error(res, status, type, reason);
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    this.json(res, status, { __type: type, message });
  }

  private json(res: ServerResponse, status: number, body: object): void {
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': bytes.length, 'x-amzn-requestid': randomBytes(8).toString('hex') });
    res.end(bytes);
  }
}
