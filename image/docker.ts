import { ImageError } from './errors';
import type { ImageCommand } from './customer-ramdisk';
import { ToolError, runTool } from './run-tool';

/*
 * The few docker commands an EIF build needs, through the docker CLI (so whatever engine and
 * builder the host has configured: classic or BuildKit, local socket or DOCKER_HOST).
 */

/** The image's ID and what it runs: the command and environment the enclave's init will use. */
export interface InspectedImage {
  id: string;
  command: ImageCommand;
}

interface ImageConfig {
  Id?: unknown;
  Config?: { Cmd?: unknown; Entrypoint?: unknown; Env?: unknown } | null;
}

const strings = (value: unknown): string[] => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : []);

/**
 * The command nitro-cli would give the enclave: the image's CMD, or its ENTRYPOINT when it has no
 * CMD (see eif-format.md); `IMAGE_NO_COMMAND` when it has neither.
 */
export function imageCommand(config: ImageConfig['Config'], image: string): ImageCommand {
  const cmd = strings(config?.Cmd);
  const entrypoint = strings(config?.Entrypoint);
  const command = cmd.length > 0 ? cmd : entrypoint;
  if (command.length === 0) {
    throw new ImageError(
      'IMAGE_NO_COMMAND',
      `the image ${image} has neither CMD nor ENTRYPOINT, so the enclave would have nothing to run; add an ENTRYPOINT to its Dockerfile.`,
    );
  }
  return { cmd: command, env: strings(config?.Env) };
}

/** `docker image inspect`: the image's ID and command. */
export async function inspectImage(image: string): Promise<InspectedImage> {
  const { stdout } = await runTool('docker', ['image', 'inspect', '--', image]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new ToolError(`docker image inspect ${image} printed no JSON`, 1);
  }
  const first = (Array.isArray(parsed) ? parsed[0] : undefined) as ImageConfig | undefined;
  if (!first || typeof first.Id !== 'string') throw new ToolError(`docker image inspect ${image} printed no image`, 1);
  return { id: first.Id, command: imageCommand(first.Config, image) };
}

/**
 * Writes the image's file system as a tar file (`docker export` of a container created from it
 * and never started), and removes the container whatever happens.
 */
export async function exportImage(image: string, tarPath: string): Promise<void> {
  const { stdout } = await runTool('docker', ['create', '--network', 'none', '--', image]);
  const container = stdout.trim();
  if (!/^[0-9a-f]{12,64}$/.test(container)) throw new ToolError(`docker create ${image} printed no container ID: ${container.slice(0, 200)}`, 1);
  try {
    await runTool('docker', ['export', '--output', tarPath, container]);
  } finally {
    await runTool('docker', ['rm', '--force', container]).catch(() => undefined);
  }
}

/** A base image given by its local ID (`sha256:<64 hex>`), which pins its content as a registry digest does. */
export const LOCAL_IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * A tag for the local image with this ID, since BuildKit resolves a FROM naming a bare ID in a
 * registry: `cloister-pinned:<hex>`, made after checking that the engine holds exactly that image.
 */
export async function tagLocalImage(id: string): Promise<string> {
  const { stdout } = await runTool('docker', ['image', 'inspect', '--format', '{{.Id}}', '--', id]);
  if (stdout.trim() !== id) throw new ToolError(`docker holds no image with the ID ${id} (it answered ${stdout.trim().slice(0, 80)})`, 1);
  const tag = `cloister-pinned:${id.slice('sha256:'.length)}`;
  await runTool('docker', ['tag', id, tag]);
  return tag;
}
