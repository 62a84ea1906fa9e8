import { KMSClient } from '@aws-sdk/client-kms';
import type { RuntimeConfig } from '../contract/config';
import type { Logger } from '../contract/log';
import { CodedError } from '../contract/coded-error';
import { KmsError, decryptForEnclave } from '../attestation/kms';
import type { Nsm } from '../attestation/nsm/nsm';
import { httpsEgressAgent } from './egress-agents';

/**
 * Why a secret was not released. Messages name the secret (its environment variable) and never
 * carry its value, its ciphertext or the KMS error's own text (kept as `cause`).
 */
export type SecretErrorCode =
  /** KMS refused or failed (key policy, IAM, network, a reply this enclave cannot open). */
  | 'SECRET_NOT_RELEASED'
  /** KMS released bytes that are not UTF-8 text without NUL, so they cannot be an environment variable. */
  | 'SECRET_NOT_TEXT'
  /** The configuration lists secrets but the supervisor cannot tell which KMS region to ask. */
  | 'KMS_NOT_CONFIGURED';

export class SecretError extends CodedError<SecretErrorCode> {
  constructor(
    code: SecretErrorCode,
    /** The environment variable name of the secret concerned, when there is one. */
    readonly secretName: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** How the supervisor's own KMS client is made. */
export interface KmsClientOptions {
  /**
   * An HTTP(S) forward proxy URL (the enclave's egress proxy): HTTPS requests to KMS are tunnelled
   * through it with CONNECT. Default: `HTTPS_PROXY` (or `https_proxy`) of `env`.
   */
  proxy?: string;
  /** Where AWS_REGION and HTTPS_PROXY are read from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface ReleaseOptions extends KmsClientOptions {
  /** The KMS client to use instead of one made from `config.kms` (tests). */
  kms?: KMSClient;
}

/** Bounds on one KMS call, so a KMS that never answers fails the boot instead of hanging it. */
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The supervisor's KMS client for `config.kms`: region from `kms.region` or AWS_REGION /
 * AWS_DEFAULT_REGION, endpoint from `kms.endpoint` (a VPC endpoint, or a fake KMS in tests),
 * credentials from the SDK's default chain (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN handed to the supervisor). HTTPS goes through the egress proxy when one is
 * given (see {@link KmsClientOptions.proxy}); the KMS host and port must then be on the
 * configuration's `outbound` list like any other destination.
 */
export function createKmsClient(settings: RuntimeConfig['kms'], options: KmsClientOptions = {}): KMSClient {
  const env = options.env ?? process.env;
  const region = settings?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') {
    throw new SecretError(
      'KMS_NOT_CONFIGURED',
      undefined,
      'The configuration lists secrets but names no KMS region: set kms.region in the configuration or AWS_REGION for the supervisor.',
    );
  }
  const proxy = options.proxy ?? env.HTTPS_PROXY ?? env.https_proxy;
  return new KMSClient({
    region,
    ...(settings?.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    // The SDK makes its Node handler from these options.
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      ...(proxy === undefined || proxy === '' ? {} : { httpsAgent: httpsEgressAgent(proxy) }),
    },
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Asks KMS, with a Recipient attestation of this enclave (so the key policy's
 * `kms:RecipientAttestation:ImageSha384` and `:PCR16` conditions apply), to decrypt every secret
 * of the configuration, and returns them by environment variable name for the app's environment.
 * Call it only after PCR16 is extended with the configuration digest and locked, so that the
 * documents KMS sees carry this configuration.
 *
 * Secrets are asked for one at a time, each with a fresh recipient key; the first refusal stops the
 * boot with a SecretError naming that secret. Nothing is written to disk; logs carry names and
 * counts only.
 */
export async function releaseSecrets(config: RuntimeConfig, nsm: Nsm, log: Logger, options: ReleaseOptions = {}): Promise<Record<string, string>> {
  const secrets = config.secrets ?? [];
  const released: Record<string, string> = {};
  if (secrets.length === 0) return released;
  const kms = options.kms ?? createKmsClient(config.kms, options);
  const started = Date.now();
  try {
    for (const secret of secrets) {
      let plaintext: Buffer;
      try {
        ({ Plaintext: plaintext } = await decryptForEnclave(kms, nsm, {
          CiphertextBlob: Buffer.from(secret.ciphertext, 'base64'),
          ...(secret.keyId === undefined ? {} : { KeyId: secret.keyId }),
        }));
      } catch (cause) {
        throw notReleased(secret.name, cause);
      }
      try {
        released[secret.name] = toEnvironmentValue(secret.name, plaintext);
      } finally {
        plaintext.fill(0);
      }
      log({ level: 'info', event: 'secret.released', name: secret.name });
    }
  } finally {
    if (options.kms === undefined) kms.destroy();
  }
  log({ level: 'info', event: 'secrets.released', count: secrets.length, ms: Date.now() - started });
  return released;
}

function toEnvironmentValue(name: string, plaintext: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(plaintext);
  } catch {
    throw new SecretError(
      'SECRET_NOT_TEXT',
      name,
      `The secret ${name} is not UTF-8 text, so it cannot be an environment variable; encrypt it as text (e.g. base64 of the bytes).`,
    );
  }
  if (text.includes('\0')) {
    throw new SecretError(
      'SECRET_NOT_TEXT',
      name,
      `The secret ${name} contains a NUL character, which an environment variable cannot hold; encrypt it as text (e.g. base64 of the bytes).`,
    );
  }
  return text;
}

function notReleased(name: string, cause: unknown): SecretError {
  let reason: string;
  if (cause instanceof KmsError) reason = `${cause.code}: ${cause.message}`;
  else if (cause instanceof CodedError) reason = `${cause.name} ${String(cause.code)}`;
  else reason = cause instanceof Error ? cause.name : 'an unknown failure';
  return new SecretError('SECRET_NOT_RELEASED', name, `KMS did not release the secret ${name} to this enclave (${reason})`, { cause });
}
