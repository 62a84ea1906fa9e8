import type { DockerEngine } from './engine';
import { RUN } from './global-setup';

/** Stops the engine the global setup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  const engine = (globalThis as Record<symbol, unknown>)[RUN] as DockerEngine | undefined;
  await engine?.stop();
}
