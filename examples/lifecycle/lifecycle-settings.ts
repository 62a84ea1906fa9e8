import { z } from 'zod';
import type { LifecycleLimits } from './resource-store';

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/** The defaults of one kind of resource, as an app states them. */
export interface LifecycleDefaults {
  ttlSeconds: number;
  maxLive: number;
  maxPerCaller: number;
  maxBytes: number;
  maxBytesPerCaller: number;
}

/**
 * The configuration settings of a kind of resource (`noun`: "rounds"), to spread into an app's
 * block: how long one lives and how many may live, for the app and for each caller.
 */
export function lifecycleSettings(noun: string, defaults: LifecycleDefaults) {
  return {
    ttlSeconds: positiveInt(30 * 24 * 3600)
      .optional()
      .describe(`How long ${noun} live, results included, after they are created (default ${defaults.ttlSeconds} s).`),
    maxLive: positiveInt(1_000_000).optional().describe(`Most ${noun} live at once in the app (default ${defaults.maxLive}).`),
    maxPerCaller: positiveInt(1_000_000).optional().describe(`Most live ${noun} one caller may have created (default ${defaults.maxPerCaller}).`),
    maxBytes: positiveInt(2 ** 40)
      .optional()
      .describe(`Most bytes all live ${noun} may hold together (default ${defaults.maxBytes}).`),
    maxBytesPerCaller: positiveInt(2 ** 40)
      .optional()
      .describe(`Most bytes the live ${noun} one caller created may hold (default ${defaults.maxBytesPerCaller}).`),
  };
}

/** The limits from an app's settings, defaults applied. */
export function lifecycleLimits(
  settings: Partial<Record<keyof LifecycleDefaults, number | undefined>> | undefined,
  defaults: LifecycleDefaults,
): LifecycleLimits {
  return {
    ttlMs: (settings?.ttlSeconds ?? defaults.ttlSeconds) * 1000,
    maxLive: settings?.maxLive ?? defaults.maxLive,
    maxPerCaller: settings?.maxPerCaller ?? defaults.maxPerCaller,
    maxBytes: settings?.maxBytes ?? defaults.maxBytes,
    maxBytesPerCaller: settings?.maxBytesPerCaller ?? defaults.maxBytesPerCaller,
  };
}
