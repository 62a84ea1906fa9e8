import { z } from 'zod';
import type { LifecycleLimits } from './resource-store';

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/** The defaults of one kind of resource, as an app states them. */
export interface LifecycleDefaults {
  ttlSeconds: number;
  maxLive: number;
  maxPerCaller: number;
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
  };
}

/** The limits from an app's settings, defaults applied. */
export function lifecycleLimits(
  settings: { ttlSeconds?: number | undefined; maxLive?: number | undefined; maxPerCaller?: number | undefined } | undefined,
  defaults: LifecycleDefaults,
): LifecycleLimits {
  return {
    ttlMs: (settings?.ttlSeconds ?? defaults.ttlSeconds) * 1000,
    maxLive: settings?.maxLive ?? defaults.maxLive,
    maxPerCaller: settings?.maxPerCaller ?? defaults.maxPerCaller,
  };
}
