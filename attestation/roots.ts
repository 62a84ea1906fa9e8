import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError } from './errors';

/** A root certificate trusted by its bytes. */
export interface TrustedRoot {
  der: Uint8Array;
  /** SHA-256 of the DER, lower-case hex. */
  sha256: string;
  subject: string;
}

/** SHA-256 of the DER of the AWS Nitro Enclaves root G1 (CN=aws.nitro-enclaves), as AWS publishes it. */
export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

const AWS_ROOT_FILE = join(__dirname, 'roots', 'aws-nitro-root-g1.pem');

let awsRoot: TrustedRoot | undefined;

/**
 * The AWS Nitro Enclaves root shipped with the package, after checking its bytes against the
 * pinned digest: a modified file is `ROOT_NOT_PINNED`, never silently trusted.
 */
export function awsNitroRoot(): TrustedRoot {
  awsRoot ??= rootFromPem(readPem(AWS_ROOT_FILE), AWS_NITRO_ROOT_G1_SHA256);
  return awsRoot;
}

/**
 * A root from PEM text, e.g. the development root. With `expectedSha256`, its DER must have that
 * digest (`ROOT_NOT_PINNED` otherwise).
 */
export function rootFromPem(pem: string, expectedSha256?: string): TrustedRoot {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new AttestationError('ROOT_NOT_PINNED', 'The root is not a readable PEM certificate.', { cause: e });
  }
  const der = cert.raw;
  const sha256 = createHash('sha256').update(der).digest('hex');
  if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase()) {
    throw new AttestationError(
      'ROOT_NOT_PINNED',
      `The root certificate's SHA-256 is ${sha256}, not the pinned ${expectedSha256}; the root file was altered or replaced.`,
    );
  }
  return { der, sha256, subject: /CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject };
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AttestationError('ROOT_NOT_PINNED', `Cannot read the root certificate ${path}: ${(e as Error).message}.`, { cause: e });
  }
}
