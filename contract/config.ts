import { z } from 'zod';
import { IDENTITY_PATTERN, type Identity, MAX_IDENTITY_CHARS } from './identity';
import { canonicalHost } from './allowlist';

const identityValue = (what: string) =>
  z.string().max(MAX_IDENTITY_CHARS).regex(IDENTITY_PATTERN, `a ${what} is 1 to ${MAX_IDENTITY_CHARS} printable ASCII characters without surrounding spaces`);

const Name = identityValue('name');
const Role = identityValue('role');

/** A client's public key: the SHA-256 of its SubjectPublicKeyInfo DER, or the key as a public JWK. */
const UserKey = z.union([
  z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:" followed by 64 lower-case hex digits, or a JWK'),
  z.looseObject({ kty: z.enum(['EC', 'RSA', 'OKP']) }).refine((jwk) => !('d' in jwk), {
    message: 'this JWK holds a private key ("d"); give the public key only',
  }),
]);

const Pcr = z.string().regex(/^[0-9a-f]{96}$/, 'expected a PCR value: 96 lower-case hex digits (SHA-384)');
const PcrIndex = z.string().regex(/^([0-9]|[12][0-9]|3[01])$/, 'expected a PCR index from 0 to 31');

/** An allowlisted host: exactly one name or IP literal, since the allowlist matches exactly. */
const OutboundHost = z
  .string()
  .min(1)
  .max(253)
  .refine((host) => !host.includes('*'), 'wildcards are not supported; list each host exactly')
  .refine((host) => canonicalHost(host) !== undefined, 'expected a bare host name or IP literal, without scheme, port or path');

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/**
 * Environment variable names a secret may not take: the supervisor sets the egress proxy variables
 * itself, and NODE_OPTIONS or PATH would change what the app process runs rather than hand it data.
 */
const RESERVED_SECRET_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'NODE_OPTIONS', 'NODE_PATH', 'PATH'];
/** KMS ciphertext blobs are at most 6144 bytes: 8192 characters of base64. */
const MAX_SECRET_CIPHERTEXT_CHARS = 8192;

/** A KMS-encrypted secret handed to the app as an environment variable once KMS releases it to this enclave. */
const Secret = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]{0,63}$/, 'expected an environment variable name: A-Z, 0-9 and _, not starting with a digit, at most 64 characters')
    .refine((name) => !RESERVED_SECRET_NAMES.includes(name) && !name.startsWith('CLOISTER_'), {
      message: `this name is reserved for the supervisor (${RESERVED_SECRET_NAMES.join(', ')}, CLOISTER_*); choose another`,
    })
    .describe('The environment variable the app reads the plaintext from.'),
  ciphertext: z
    .string()
    .min(1)
    .max(MAX_SECRET_CIPHERTEXT_CHARS)
    .regex(
      /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
      'expected the KMS CiphertextBlob in standard base64 (e.g. from `aws kms encrypt --output text --query CiphertextBlob`)',
    )
    .describe('Base64 of the KMS CiphertextBlob. Only this ciphertext enters the config digest, never the plaintext.'),
  keyId: z.string().min(1).max(2048).optional().describe('The KMS key (id, ARN or alias) that must have encrypted it; KMS checks it.'),
});

/** How the supervisor reaches KMS. */
const KmsSettings = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region such as "eu-west-1"')
    .optional()
    .describe('The KMS region (default: AWS_REGION in the supervisor environment).'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .max(2048)
    .optional()
    .describe('Overrides the KMS endpoint, e.g. a VPC endpoint or, in tests, a local fake KMS (http://127.0.0.1:PORT).'),
});
/**
 * What leaves the enclave as log lines. Part of the measured configuration: how much the parent
 * gets to see of the traffic is something the parties approve.
 */
const LoggingSettings = z.strictObject({
  level: z
    .enum(['info', 'warn', 'error'])
    .optional()
    .describe(
      "The least serious lines sent: 'info' (default, everything), 'warn' or 'error'; the app's context.log entries keep their own level, its standard output is info, its standard error warn.",
    ),
  requests: z
    .union([z.strictObject({ sample: z.number().min(0).max(1).describe('The share of requests, 0 to 1, that get a line.') }), z.literal('off')])
    .optional()
    .describe("The ingress's line per request (method, path, status, timing, caller): { sample: 0..1 }, or 'off' (default: every request)."),
});

/**
 * The runtime configuration of DESIGN.md: who may call, which other enclaves may call, where the
 * enclave may connect, and per-app settings. Unknown keys are refused so a typo cannot silently
 * weaken a deployment.
 */
export const RuntimeConfigSchema = z
  .strictObject({
    users: z.array(z.strictObject({ name: Name, role: Role, key: UserKey })).max(10_000),
    enclaves: z
      .array(
        z.strictObject({
          name: Name,
          role: Role,
          pcrs: z.record(PcrIndex, Pcr).refine((p) => Object.keys(p).length > 0, 'name at least one PCR'),
          root: z
            .string()
            .max(16_384)
            .refine((r) => r === 'aws' || r.includes('-----BEGIN CERTIFICATE-----'), 'expected "aws" or a PEM certificate')
            .optional()
            .describe('The root its attestation must chain to: "aws" (default) or a PEM certificate, e.g. the development root.'),
        }),
      )
      .max(1_000)
      .optional(),
    outbound: z
      .array(z.strictObject({ host: OutboundHost, port: z.number().int().min(1).max(65_535) }))
      .max(1_000)
      .optional(),
    apps: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The hosted app's own block, validated by the schema the app declares (see contract/app-host.ts)."),
    limits: z
      .strictObject({
        jsonBodyBytes: positiveInt(1 << 30)
          .optional()
          .describe('Largest JSON request body (default 1 MiB).'),
      })
      .optional(),
    secrets: z.array(Secret).max(100).optional(),
    kms: KmsSettings.optional(),
    logging: LoggingSettings.optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    const callers = [
      ...config.users.map((u, i) => ({ name: u.name, path: ['users', i, 'name'] })),
      ...(config.enclaves ?? []).map((e, i) => ({ name: e.name, path: ['enclaves', i, 'name'] })),
    ];
    for (const { name, path } of callers) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `the name "${name}" is used twice; names identify callers` });
      seen.add(name);
    }
    const secretNames = new Set<string>();
    (config.secrets ?? []).forEach(({ name }, i) => {
      if (secretNames.has(name)) ctx.addIssue({ code: 'custom', path: ['secrets', i, 'name'], message: `the secret "${name}" is listed twice` });
      secretNames.add(name);
    });
  });

export type RuntimeConfig = z.output<typeof RuntimeConfigSchema>;

/** A configuration that does not validate; the message names every bad field. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(readonly issues: { field: string; message: string }[]) {
    super(`Invalid Cloister configuration: ${issues.map((i) => `${i.field || '(top level)'}: ${i.message}`).join('; ')}.`);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed configuration file. Throws ConfigError naming each bad field. */
export function parseConfig(input: unknown): RuntimeConfig {
  const result = RuntimeConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message })));
}

/** Everyone the configuration lets call: users and peer enclaves, with their roles. */
export function knownCallers(config: RuntimeConfig): Identity[] {
  return [...config.users, ...(config.enclaves ?? [])].map(({ name, role }) => ({ name, role }));
}
