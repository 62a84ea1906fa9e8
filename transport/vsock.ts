import { Server, Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { findAddon, loadAddon } from '../contract/find-addon';

/**
 * AF_VSOCK for Node: the one file that touches the `cloister_vsock` addon (native/vsock.c) and
 * Node's internals. The addon makes the descriptors; they are then adopted by a libuv TCP stream
 * handle (`uv_tcp_open` does not check the address family), so a connected vsock descriptor is
 * an ordinary `net.Socket` (backpressure, half-close) and a listening one an ordinary
 * `net.Server`. Adopted sockets report empty addresses, and `setNoDelay`/keep-alive do nothing.
 */

/** What vsock.c exports (see the comment at its top). */
export interface VsockAddon {
  listen(cid: number, port: number, backlog: number): number;
  connect(cid: number, port: number, timeoutMs: number): number;
  watchWritable(fd: number, callback: (soError: number) => void): () => void;
  soError(fd: number): number;
  localCid(): number;
  socketpair(): [number, number];
  close(fd: number): void;
}

/** Any CID: listen on every CID this machine has (inside an enclave, the parent connects to it). */
export const VMADDR_CID_ANY = 0xffffffff;
/** The default connect timeout: the kernel's own default is 2 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

/**
 * A vsock failure. `code` is the errno name (`ENODEV`, `ETIMEDOUT`, `EADDRINUSE`, …) as on Node's
 * system errors, or `ERR_VSOCK_UNAVAILABLE` when this machine or build has no vsock at all.
 */
export class VsockError extends Error {
  override name = 'VsockError';
  constructor(
    message: string,
    readonly code: string,
    readonly syscall?: string,
    readonly errno?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ADDON_FILE = 'cloister_vsock.node';
let cached: VsockAddon | undefined;
let loadFailure: VsockError | undefined;

/** The built vsock addon, or undefined when it was not built (see findAddon). */
export const vsockAddonPath = (): string | undefined => findAddon(ADDON_FILE);

/** Loads the addon once; a missing or broken one is an `ERR_VSOCK_UNAVAILABLE` saying why. */
export function loadVsockAddon(): VsockAddon {
  if (cached) return cached;
  if (loadFailure) throw loadFailure;
  const file = vsockAddonPath();
  let why: string;
  let cause: unknown;
  if (process.platform !== 'linux') {
    why = `vsock exists only on Linux (this is ${process.platform}); use tcp:// or unix:// addresses in local mode.`;
  } else if (!file) {
    why = `the vsock addon (build/Release/${ADDON_FILE}) is not built: run \`npm run install\` (needs python3, make and a C compiler), or use tcp:// or unix:// addresses.`;
  } else {
    try {
      const addon = loadAddon(file) as VsockAddon;
      if (typeof addon?.listen === 'function' && typeof addon.connect === 'function' && typeof addon.watchWritable === 'function') {
        return (cached = addon);
      }
      cause = new Error(`${file} does not export listen, connect and watchWritable`);
    } catch (e) {
      cause = e;
    }
    why = `the vsock addon ${file} could not be loaded (${(cause as { message?: string } | null)?.message ?? String(cause)}).`;
  }
  throw (loadFailure = new VsockError(`vsock is not available: ${why}`, 'ERR_VSOCK_UNAVAILABLE', undefined, undefined, { cause }));
}

/**
 * Whether AF_VSOCK sockets can be made here (the addon loads and the kernel has the address
 * family), and if not, why: for tests to skip with a reason and tools to say so.
 */
export function vsockSupport(): { ok: true; localCid: number | undefined } | { ok: false; reason: string } {
  let addon: VsockAddon;
  try {
    addon = loadVsockAddon();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  try {
    // A listener on an ephemeral port proves the family exists, then goes away.
    addon.close(addon.listen(VMADDR_CID_ANY, 0xffffffff, 1));
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === osConstants.errno.EAFNOSUPPORT || errno === osConstants.errno.ENODEV) {
      return { ok: false, reason: `this kernel has no AF_VSOCK transport (${errnoName(errno)}).` };
    }
    return { ok: false, reason: `cannot make a vsock socket here: ${(e as Error).message}` };
  }
  let localCid: number | undefined;
  try {
    localCid = addon.localCid();
  } catch {
    localCid = undefined;
  }
  return { ok: true, localCid };
}

/** The CID of this machine (the parent instance is 3 in Nitro; an enclave has 4 or more). */
export function localCid(): number {
  const addon = loadVsockAddon();
  try {
    return addon.localCid();
  } catch (e) {
    throw systemError(e, 'cannot read the local CID from /dev/vsock');
  }
}

/** `vsock://CID:PORT` */
function where(cid: number, port: number): string {
  return `vsock://${cid}:${port}`;
}

function errnoName(errno: number | undefined): string {
  if (errno === undefined) return 'UNKNOWN';
  try {
    return getSystemErrorName(-Math.abs(errno));
  } catch {
    return `errno ${errno}`;
  }
}

/** A VsockError from an addon error (errno, syscall) with `context` and an explanation where one helps. */
function systemError(e: unknown, context: string, explain: (code: string) => string | undefined = () => undefined): VsockError {
  const errno = (e as { errno?: unknown } | null)?.errno;
  const syscall = (e as { syscall?: unknown } | null)?.syscall;
  if (typeof errno !== 'number') return new VsockError(`${context}: ${(e as Error)?.message ?? String(e)}`, 'UNKNOWN', undefined, undefined, { cause: e });
  return errnoError(errno, typeof syscall === 'string' ? syscall : undefined, context, explain, e);
}

function errnoError(errno: number, syscall: string | undefined, context: string, explain: (code: string) => string | undefined, cause?: unknown): VsockError {
  const code = errnoName(errno);
  const detail = explain(code) ?? describe(code);
  return new VsockError(`${context}: ${detail} (${code}${syscall ? `, ${syscall}` : ''})`, code, syscall, errno, { cause });
}

function describe(code: string): string {
  switch (code) {
    case 'EAFNOSUPPORT':
      return 'this kernel has no AF_VSOCK support';
    case 'EADDRINUSE':
      return 'the port is already in use';
    case 'EADDRNOTAVAIL':
      return 'this machine does not have that CID';
    case 'EACCES':
    case 'EPERM':
      return 'the port is refused by local policy (try a higher port)';
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return 'nothing is listening on that port';
    default:
      return code;
  }
}

/** The TCP handle constructor of Node's libuv binding: the one internal this module needs. */
interface TcpHandle {
  open(fd: number): number;
  close(): void;
}
type TcpConstructor = new (type: number) => TcpHandle;
interface TcpWrap {
  TCP: TcpConstructor;
  constants: { SOCKET: number; SERVER: number };
}
let tcpBinding: TcpWrap | undefined;

/** `process.binding('tcp_wrap')` (deprecated in documentation only); nothing public makes a TCP handle from a descriptor. */
function tcpWrap(): TcpWrap {
  if (tcpBinding) return tcpBinding;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  const wrap = typeof binding === 'function' ? (binding.call(process, 'tcp_wrap') as TcpWrap | undefined) : undefined;
  if (!wrap || typeof wrap.TCP !== 'function' || typeof wrap.constants?.SOCKET !== 'number') {
    throw new VsockError('vsock is not available: this Node has no tcp_wrap binding to adopt descriptors with.', 'ERR_VSOCK_UNAVAILABLE');
  }
  return (tcpBinding = wrap);
}

/** A TCP stream handle owning `fd` (closed here if the handle refuses it). */
function openHandle(fd: number, kind: 'SOCKET' | 'SERVER', close: (fd: number) => void): TcpHandle {
  const { TCP, constants } = tcpWrap();
  const handle = new TCP(constants[kind]);
  const status = handle.open(fd);
  if (status !== 0) {
    handle.close();
    close(fd);
    throw errnoError(-status, 'uv_tcp_open', `cannot adopt descriptor ${fd}`, () => undefined);
  }
  return handle;
}

/**
 * A connected stream descriptor (vsock, or any stream socket: tests use AF_UNIX pairs) as a
 * `net.Socket` that owns it from now on. Only adopt a descriptor whose connect has completed.
 */
export function adoptSocket(fd: number, options: { allowHalfOpen?: boolean } = {}): Socket {
  const addon = loadVsockAddon();
  const handle = openHandle(fd, 'SOCKET', (n) => addon.close(n));
  return new Socket({ handle, allowHalfOpen: options.allowHalfOpen ?? false, readable: true, writable: true } as unknown as ConstructorParameters<
    typeof Socket
  >[0]);
}

/** A listening descriptor as the handle of `server`; resolves once the server is listening. */
export function adoptServer(server: Server, fd: number): Promise<void> {
  const addon = loadVsockAddon();
  const handle = openHandle(fd, 'SERVER', (n) => addon.close(n));
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    server.once('error', fail);
    server.listen(handle as never, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/**
 * Starts `server` listening on vsock `cid:port` (`VMADDR_CID_ANY` for every CID of this machine).
 * Failures are `VsockError`s (`EADDRINUSE`, `EACCES` for ports refused by local policy, …).
 */
export async function listenVsock(server: Server, cid: number, port: number, backlog = 511): Promise<void> {
  const addon = loadVsockAddon();
  let fd: number;
  try {
    fd = addon.listen(cid, port, backlog);
  } catch (e) {
    throw systemError(e, `cannot listen on ${where(cid, port)}`);
  }
  await adoptServer(server, fd);
}

export interface VsockConnectOptions {
  /** Give up after this long (default 2 s): the kernel's connect timeout, with a timer behind it. */
  timeoutMs?: number;
  /** Keep the writable side open after the peer ends (as `net.connect`'s option). */
  allowHalfOpen?: boolean;
  /** Aborting cancels a connect under way (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Connects to vsock `cid:port`: a non-blocking connect completed through libuv, the outcome read
 * from `SO_ERROR`. Resolves with a connected `net.Socket`; rejects with a `VsockError`:
 * `ENODEV` (no transport reaches that CID, e.g. the local CID on a host without vsock loopback),
 * `ETIMEDOUT` (nothing answered in time), `ECONNRESET`/`ECONNREFUSED` (nothing listens there).
 */
export function connectVsock(cid: number, port: number, options: VsockConnectOptions = {}): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) return Promise.reject(new RangeError(`timeoutMs must be a positive integer; got ${timeoutMs}`));
  const context = `cannot connect to ${where(cid, port)}`;
  const explain = (code: string): string | undefined => {
    if (code === 'ENODEV') {
      return `no such device: no vsock transport reaches CID ${cid} (connecting to the local CID is not possible on this host, which has no vsock loopback)`;
    }
    if (code === 'ETIMEDOUT') return `timed out after ${timeoutMs} ms: nothing at CID ${cid} answered`;
    return undefined;
  };
  return new Promise<Socket>((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    let addon: VsockAddon;
    let fd: number;
    try {
      addon = loadVsockAddon();
      fd = addon.connect(cid, port, timeoutMs);
    } catch (e) {
      return reject(e instanceof VsockError ? e : systemError(e, context, explain));
    }
    let cancel: () => void = () => {};
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const giveUp = (error: unknown) =>
      settle(() => {
        cancel();
        addon.close(fd);
        reject(error);
      });
    // The kernel times the connect out; this timer only covers a kernel that does not.
    const timer = setTimeout(() => giveUp(errnoError(osConstants.errno.ETIMEDOUT, 'connect', context, explain)), timeoutMs + 1_000);
    const onAbort = () => giveUp(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      cancel = addon.watchWritable(fd, (soError) =>
        settle(() => {
          if (soError !== 0) {
            addon.close(fd);
            reject(errnoError(soError, 'connect', context, explain));
            return;
          }
          try {
            resolve(adoptSocket(fd, { allowHalfOpen: options.allowHalfOpen }));
          } catch (e) {
            reject(e);
          }
        }),
      );
    } catch (e) {
      giveUp(systemError(e, context, explain));
    }
  });
}

/** Two connected AF_UNIX stream descriptors made by the addon: for testing the adoption path. */
export function socketPair(): [number, number] {
  return loadVsockAddon().socketpair();
}
