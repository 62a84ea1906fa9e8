import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Address, formatAddress } from '../transport/address';
import { SupervisorError } from './errors';

/** Where the app listens, and how to tidy up after it. */
export interface AppEndpoint {
  address: Address;
  /** Removes the socket (and the directory, when the supervisor made it). */
  remove(): void;
}

/**
 * Checks and prepares the app's address so that only processes of this enclave's user, in
 * practice the ingress, can reach it (DESIGN.md invariant 1): a unix socket in a directory no
 * one else can enter, or TCP on a loopback address. Without a request, a fresh private directory
 * under the system temp dir holds the socket.
 */
export function prepareAppEndpoint(requested: Address | undefined): AppEndpoint {
  if (requested === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'cloister-app-'));
    return { address: { kind: 'unix', path: join(dir, 'app.sock') }, remove: () => rmSync(dir, { recursive: true, force: true }) };
  }
  switch (requested.kind) {
    case 'unix':
      ensurePrivateDirectory(dirname(requested.path));
      return { address: requested, remove: () => rmSync(requested.path, { force: true }) };
    case 'tcp':
      if (!isLoopback(requested.host)) {
        throw new SupervisorError(
          'INVALID_OPTION',
          `--app ${formatAddress(requested)}: the app may listen on a loopback IP (127.0.0.0/8 or ::1) only, so nothing but the ingress reaches it.`,
        );
      }
      return { address: requested, remove: () => {} };
    case 'vsock':
      throw new SupervisorError('INVALID_OPTION', '--app: the app listens on a unix socket or loopback TCP, never vsock.');
  }
}

/** Names are refused because they resolve at run time; only a literal loopback IP is certain. */
function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  // The URL parser writes an IPv6 address in its shortest form, so every spelling of ::1 matches.
  return isIP(host) === 6 && new URL(`http://[${host}]/`).hostname === '[::1]';
}

function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  const ownedByUs = typeof process.getuid !== 'function' || stat.uid === process.getuid();
  if (!stat.isDirectory() || !ownedByUs || (stat.mode & 0o077) !== 0) {
    throw new SupervisorError(
      'INVALID_OPTION',
      `--app: the socket's directory ${dir} must be a directory of this user that no one else can enter (mode 0700).`,
    );
  }
}
