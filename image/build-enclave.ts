import { join } from 'node:path';
import { type NitroBlobs, readBlobs } from './blobs';
import { buildEifFromImage } from './build-eif';
import { LOCAL_IMAGE_ID, tagLocalImage } from './docker';
import { runTool } from './run-tool';
import type { Pcrs } from './pcrs';
import type { Progress } from './write-eif';

/** The file name of the enclave image that `cloister build` writes. */
export const EIF_NAME = 'cloister.eif';

/** Everything `cloister build` and `cloister verify-build` need to go from a checkout to PCRs. */
export interface EnclaveBuild {
  /** The Docker build context (a source checkout). */
  context: string;
  dockerfile: string;
  /** The tag given to the built image. */
  tag: string;
  /** `--build-arg`s, SOURCE_DATE_EPOCH included; a value that is a local image ID is passed as a tag of that image. */
  buildArgs: readonly [string, string][];
  /** `docker build --network` (e.g. `none` where the build must not reach anything). */
  network?: string;
  noCache?: boolean;
  /** Use this built image instead of running docker build. */
  image?: string;
  blobsDir: string;
  kernel?: string;
  /** The output directory; the EIF is written there as cloister.eif. */
  out: string;
  sourceDateEpoch: number;
  toolVersion: string;
  log: (line: string) => void;
  progress?: Progress;
}

/** docker build (unless given an image), then our own EIF: the path of the EIF, the image and the PCRs. */
export async function buildEnclave(build: EnclaveBuild): Promise<{ eif: string; image: string; imageId: string; pcrs: Pcrs }> {
  // The blobs first: a missing one should stop the build before minutes of docker build.
  const blobs: NitroBlobs = readBlobs(build.blobsDir, build.kernel);
  let image = build.image;
  if (image === undefined) {
    const args = ['build', '--tag', build.tag, '--file', build.dockerfile];
    if (build.network !== undefined) args.push('--network', build.network);
    if (build.noCache) args.push('--no-cache');
    for (const [key, value] of build.buildArgs) args.push('--build-arg', `${key}=${LOCAL_IMAGE_ID.test(value) ? await tagLocalImage(value) : value}`);
    args.push(build.context);
    build.log(`docker ${args.join(' ')}`);
    const show = (text: string) => build.log(text.trimEnd());
    await runTool('docker', args, { onStderr: show, onStdout: show });
    image = build.tag;
  }
  const eif = join(build.out, EIF_NAME);
  const { pcrs, imageId } = await buildEifFromImage({
    image,
    blobs,
    eif,
    buildTime: build.sourceDateEpoch,
    toolVersion: build.toolVersion,
    log: build.log,
    progress: build.progress,
  });
  return { eif, image, imageId, pcrs };
}
