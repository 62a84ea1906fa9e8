import { contextVariables } from './docker';
import { type DockerEngine, ensureDockerEngine } from './engine';
import { progress, step } from './run';
import { type StandInImages, standInImages } from './standins';

/** Handed to the global teardown, which runs in this same process. */
export const RUN = Symbol.for('cloister.imageTests.engine');

/**
 * Once for all image test files: an engine and the stand-in base images, handed to the test files
 * through the environment (jest gives them this process's environment).
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  process.stderr.write('\n');
  const engine: DockerEngine = await ensureDockerEngine();
  (globalThis as Record<symbol, unknown>)[RUN] = engine;
  let images: StandInImages;
  try {
    images = await step('stand-in base images', () => standInImages(engine));
  } catch (e) {
    // Jest runs no global teardown after a failed global setup.
    await engine.stop();
    throw e;
  }
  Object.assign(process.env, contextVariables({ engine, images }));
  progress(`ready for the image tests in ${((Date.now() - started) / 1000).toFixed(1)} s: BUILD_IMAGE=${images.BUILD_IMAGE} BASE_IMAGE=${images.BASE_IMAGE}`);
}
