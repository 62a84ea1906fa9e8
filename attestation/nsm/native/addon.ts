import * as fs from 'node:fs';
import { constants } from 'node:os';
import { NsmError } from '../nsm';
import { findAddon, loadAddon } from '../../../contract/find-addon';

/**
 * The whole boundary between TypeScript and the `cloister_nsm` addon (nsm.c): finding and loading
 * it, opening `/dev/nsm`, one ioctl per request, and turning its system errors into `NsmError`s.
 * Everything else about the NSM is plain TypeScript over bytes (see ../protocol.ts), tested
 * without the device.
 */

/** What nsm.c exports. */
export interface NsmAddon {
  /** open(2) with O_RDWR | O_CLOEXEC; throws an Error with `errno` (positive) and `syscall`. */
  open(path: string): number;
  /** ioctl(fd, NSM_IOCTL_RAW) on a worker thread with a 12288-byte response buffer. */
  request(fd: number, request: Uint8Array): Promise<Buffer>;
  close(fd: number): void;
}

/** Where the NSM device lives in a Nitro Enclave. */
export const NSM_DEVICE_PATH = '/dev/nsm';

const ADDON_FILE = 'cloister_nsm.node';
const ENCLAVE_ONLY = 'The device NSM works only inside a Nitro Enclave; local mode and tests use the development NSM instead.';

const loaded = new Map<string, NsmAddon>();

/** The built NSM addon, or undefined when it was not built (see findAddon). */
export const nsmAddonPath = (): string | undefined => findAddon(ADDON_FILE);

/**
 * Loads the addon (once per file). If it is not there (not built, or not Linux) or does not load
 * → `DEVICE_ABSENT`, with a sentence that says why and what to do; `devicePath` only sharpens
 * that sentence. `file` defaults to the built addon (null: none was built).
 */
export function loadNsmAddon(devicePath: string = NSM_DEVICE_PATH, file: string | null = nsmAddonPath() ?? null): NsmAddon {
  const known = file === null ? undefined : loaded.get(file);
  if (known) return known;
  let cause: unknown;
  if (file) {
    try {
      const addon = loadAddon(file) as NsmAddon;
      if (typeof addon?.open === 'function' && typeof addon.request === 'function' && typeof addon.close === 'function') {
        loaded.set(file, addon);
        return addon;
      }
      cause = new Error(`${file} does not export open, request and close`);
    } catch (e) {
      cause = e;
    }
  }
  let why: string;
  if (process.platform !== 'linux') {
    why = `The NSM addon is not built on ${process.platform} (native addons are built on Linux only).`;
  } else if (!fs.existsSync(devicePath)) {
    why = `There is no NSM device at ${devicePath}, and the NSM addon is not available here.`;
  } else if (!file) {
    why = `The NSM addon (build/Release/${ADDON_FILE}) is not built: run \`npm run install\` (needs python3, make and a C compiler).`;
  } else {
    const reason = (cause as { message?: unknown } | null)?.message;
    why = `The NSM addon ${file} could not be loaded (${typeof reason === 'string' ? reason : String(cause)}).`;
  }
  throw new NsmError('DEVICE_ABSENT', `${why} ${ENCLAVE_ONLY}`, cause === undefined ? undefined : { cause });
}

/** `ENOENT (No such file or directory)`-style text for an errno from the addon. */
export function errnoText(error: unknown): string {
  const errno = (error as { errno?: unknown } | null)?.errno;
  const name = typeof errno === 'number' ? (Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] ?? `errno ${errno}`) : 'an unknown error';
  // Duck-typed: errors made by the addon may come from another realm (e.g. under jest's vm).
  const raw = (error as { message?: unknown } | null)?.message;
  const message = typeof raw === 'string' ? raw.replace(/^\w+: /, '') : '';
  return message ? `${name} (${message})` : name;
}

function errnoName(error: unknown): string | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] : undefined;
}

/** The device opened once and shared by every request; closing waits for requests in flight. */
export interface NsmDevice {
  /** Sends one CBOR request, returns the NSM's CBOR response. Failures are `NsmError`s. */
  send(request: Uint8Array): Promise<Uint8Array>;
  /** Closes the descriptor once the requests in flight have finished; a later send reopens it. */
  close(): Promise<void>;
}

/**
 * A lazily opened NSM device. Nothing is loaded or opened until the first `send`: a missing
 * addon or device (ENOENT, ENODEV, ENXIO) → `DEVICE_ABSENT`; any other failure to open, and every
 * failed ioctl → `DEVICE_ERROR` naming the errno.
 */
export function openNsmDevice(devicePath: string = NSM_DEVICE_PATH): NsmDevice {
  let fd: number | undefined;
  let addon: NsmAddon | undefined;
  const inFlight = new Set<Promise<unknown>>();

  const ensureOpen = (): { addon: NsmAddon; fd: number } => {
    addon ??= loadNsmAddon(devicePath);
    if (fd === undefined) {
      try {
        fd = addon.open(devicePath);
      } catch (e) {
        const name = errnoName(e);
        if (name === 'ENOENT' || name === 'ENODEV' || name === 'ENXIO') {
          throw new NsmError('DEVICE_ABSENT', `There is no NSM device at ${devicePath}: ${errnoText(e)}. ${ENCLAVE_ONLY}`, {
            cause: e,
          });
        }
        throw new NsmError('DEVICE_ERROR', `Cannot open the NSM device ${devicePath}: ${errnoText(e)}.`, { cause: e });
      }
    }
    return { addon, fd };
  };

  return {
    async send(request) {
      const device = ensureOpen();
      const pending = (async () => {
        try {
          return await device.addon.request(device.fd, request);
        } catch (e) {
          throw new NsmError('DEVICE_ERROR', `The NSM ioctl on ${devicePath} failed: ${errnoText(e)}.`, { cause: e });
        }
      })();
      inFlight.add(pending);
      try {
        return await pending;
      } finally {
        inFlight.delete(pending);
      }
    },
    async close() {
      // Requests may arrive while waiting; the descriptor closes only once none is left.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      if (fd === undefined || !addon) return;
      const current = fd;
      fd = undefined;
      try {
        addon.close(current);
      } catch (e) {
        throw new NsmError('DEVICE_ERROR', `Closing the NSM device ${devicePath} failed: ${errnoText(e)}.`, { cause: e });
      }
    },
  };
}
