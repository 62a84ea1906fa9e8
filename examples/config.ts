import { z } from 'zod';
import { IDENTITY_PATTERN, MAX_IDENTITY_CHARS } from '../express';
import { type LifecycleDefaults, lifecycleSettings } from './lifecycle/lifecycle-settings';

/** Millionaire rounds: an hour to gather everyone's wealth and read the answer. */
export const ROUND_DEFAULTS: LifecycleDefaults = { ttlSeconds: 3600, maxLive: 10_000, maxPerCaller: 100, maxBytes: 160 << 20, maxBytesPerCaller: 4 << 20 };
/** PSI sessions hold whole sets: fewer of them, for a day, to let every party upload. */
export const SESSION_DEFAULTS: LifecycleDefaults = { ttlSeconds: 86_400, maxLive: 1_000, maxPerCaller: 10, maxBytes: 1 << 30, maxBytesPerCaller: 256 << 20 };
/** Stats computations gather submissions over a day. */
export const COMPUTATION_DEFAULTS: LifecycleDefaults = {
  ttlSeconds: 86_400,
  maxLive: 1_000,
  maxPerCaller: 100,
  maxBytes: 256 << 20,
  maxBytesPerCaller: 64 << 20,
};

const positiveInt = (max: number) => z.number().int().min(1).max(max);

const Role = z
  .string()
  .max(MAX_IDENTITY_CHARS)
  .regex(IDENTITY_PATTERN, `a role is 1 to ${MAX_IDENTITY_CHARS} printable ASCII characters without surrounding spaces`);
const appRole = { role: Role.optional().describe('Only configured callers with this role take part.') };

/**
 * The example apps' block of the deployment configuration (`apps:`), one entry per example.
 * Strict, like the rest of the configuration: an unknown app or setting is refused, so a typo
 * cannot silently leave a limit at its default.
 */
export const ExamplesConfigSchema = z.strictObject({
  hello: z.strictObject({}).optional(),
  millionaire: z.strictObject({ ...appRole, ...lifecycleSettings('rounds', ROUND_DEFAULTS) }).optional(),
  psi: z
    .strictObject({
      ...appRole,
      ...lifecycleSettings('sessions', SESSION_DEFAULTS),
      maxItems: positiveInt(10_000_000).optional().describe('Most items in one set (default 2,000,000).'),
      maxItemBytes: positiveInt(65_536).optional().describe('Longest item in UTF-8 bytes (default 1,024).'),
      maxUploadBytes: positiveInt(2 ** 40)
        .optional()
        .describe('Largest set upload in bytes, any format (default 256 MiB).'),
    })
    .optional(),
  stats: z
    .strictObject({
      ...appRole,
      ...lifecycleSettings('computations', COMPUTATION_DEFAULTS),
      maxKeysPerParticipant: positiveInt(1_000_000).optional().describe('Keymatch keys one participant may submit (default 10,000).'),
      maxMessageBytes: positiveInt(65_536).optional().describe('Longest keymatch message in UTF-8 bytes (default 280).'),
    })
    .optional(),
  outbound: z
    .strictObject({
      maxBodyBytes: positiveInt(16 << 20)
        .optional()
        .describe('Most response bytes returned (default 64 KiB).'),
      timeoutMs: positiveInt(120_000).optional().describe('Whole-request timeout (default 10 s).'),
    })
    .optional(),
});

export type ExamplesConfig = z.output<typeof ExamplesConfigSchema>;
