import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NitroBlobs } from './blobs';
import { bootstrapRamdisk } from './bootstrap-ramdisk';
import { customerRamdisk } from './customer-ramdisk';
import { exportImage, inspectImage } from './docker';
import type { Pcrs } from './pcrs';
import { indexTar } from './tar-index';
import { type Progress, writeEif } from './write-eif';

export interface EifBuild {
  /** The Docker image (tag or ID) to turn into an EIF. */
  image: string;
  blobs: NitroBlobs;
  /** Where to write the EIF; it appears only when complete. */
  eif: string;
  /** Seconds since the epoch recorded as the build time in the (unmeasured) metadata, so that two builds give the same bytes. */
  buildTime: number;
  /** This tool's version, recorded in the metadata. */
  toolVersion: string;
  /** Says what is happening: a line per step. */
  log?: (line: string) => void;
  progress?: Progress;
}

/**
 * Docker image → EIF, without nitro-cli: exports the image's file system, writes the bootstrap
 * ramdisk from AWS's blobs and the image's canonical ramdisk, and returns the PCRs.
 */
export async function buildEifFromImage(build: EifBuild): Promise<{ pcrs: Pcrs; imageId: string }> {
  const log = build.log ?? (() => {});
  const inspected = await inspectImage(build.image);
  const work = mkdtempSync(join(tmpdir(), 'cloister-eif-'));
  try {
    const tar = join(work, 'rootfs.tar');
    log(`exporting the file system of ${build.image} (${inspected.id})`);
    await exportImage(build.image, tar);
    const fd = openSync(tar, 'r');
    try {
      const entries = indexTar(fd);
      log(`writing ${build.eif} (${entries.length} files from the image)`);
      const metadata = Buffer.from(
        JSON.stringify({
          ImageName: build.image,
          ImageVersion: build.image.includes(':') ? build.image.slice(build.image.lastIndexOf(':') + 1) : 'latest',
          BuildMetadata: {
            BuildTime: new Date(build.buildTime * 1000).toISOString(),
            BuildTool: 'cloister',
            BuildToolVersion: build.toolVersion,
            OperatingSystem: 'linux',
            KernelVersion: 'unknown',
          },
          DockerInfo: { Cmd: inspected.command.cmd, Env: inspected.command.env },
          CustomMetadata: null,
        }),
      );
      const pcrs = writeEif(
        build.eif,
        {
          kernel: build.blobs.kernel,
          cmdline: build.blobs.cmdline,
          metadata,
          ramdisks: [bootstrapRamdisk(build.blobs), customerRamdisk(fd, entries, inspected.command)],
        },
        build.progress,
      );
      return { pcrs, imageId: inspected.id };
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
