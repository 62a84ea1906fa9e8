/**
 * What image tests need to build and run the repository's image: the engine and stand-in base
 * images that `npm run test:image` prepares once (jest.image.config.js's global setup), and
 * helpers that run docker against them with bounded times.
 *
 * @example
 * const context = imageTestContext();
 * const { id } = await dockerBuild(REPO_ROOT, 'cloister-test:mine', { builder: 'buildkit', context });
 * await docker(['run', '--rm', '--network', 'none', 'cloister-test:mine'], { context, timeoutMs: 30_000 });
 */
export {
  CONTEXT_VARIABLES,
  type BuildResult,
  type DockerBuildOptions,
  type ImageTestContext,
  ImageTestSetupError,
  docker,
  dockerBuild,
  exportImage,
  imageTestContext,
  removeImages,
} from './docker';
export { type DockerEngine, DockerEngineError, ensureDockerEngine } from './engine';
export { CommandError, type CommandResult, progress, run, step } from './run';
export { REPO_ROOT, StandInError, type StandInImages, standInCacheDir, standInImages } from './standins';
export { INIT_LAYER, type TarEntry, describeEntry, exportDifferences, tarListing } from './tar-listing';
