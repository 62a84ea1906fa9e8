import type { ResultsKeyMaterial } from '../contract/signed-result';
import type { Address } from '../transport/address';

/**
 * The IPC messages between the supervisor and its app child. The configuration travels over IPC
 * rather than as a file path so that the app runs exactly the document whose digest is in PCR16:
 * nothing on disk can change between measurement and use.
 */
export type ToAppChild = {
  type: 'start';
  /** The absolute path of the app module to load. */
  module: string;
  /** The validated configuration document, as measured. */
  config: unknown;
  /** Where to listen: a unix socket in a private directory, or a loopback TCP address. */
  listen: Address;
  /** The instance's results key, for the signer in the app's context. */
  results: ResultsKeyMaterial;
};

export type FromAppChild =
  /** The app accepts connections at `address` (the actual port when asked for port 0). */
  | { type: 'ready'; address: Address }
  /** The app could not start (e.g. its address is taken); it exits next and is restarted with backoff. */
  | { type: 'failed'; message: string; /** INVALID_CONFIG when the app's schema refused its block. */ code?: 'INVALID_CONFIG' };

/**
 * The module host writes the app's own log entries (`context.log`), one JSON line each, to this
 * file descriptor: a pipe apart from standard output, so the supervisor tells them from what the
 * app prints and keeps their level.
 */
export const APP_LOG_FD = 3;

/**
 * Narrows an IPC message from the child; anything else is ignored by the supervisor. The app runs
 * in the child and can send messages too, so their text is checked to be text before it is read.
 */
export function isFromAppChild(message: unknown): message is FromAppChild {
  if (message === null || typeof message !== 'object') return false;
  const { type, address, message: text, code } = message as { type?: unknown; address?: unknown; message?: unknown; code?: unknown };
  if (type === 'ready') return isListenAddress(address);
  return type === 'failed' && typeof text === 'string' && (code === undefined || code === 'INVALID_CONFIG');
}

function isListenAddress(address: unknown): address is Address {
  if (address === null || typeof address !== 'object') return false;
  const { kind, path, host, port } = address as { kind?: unknown; path?: unknown; host?: unknown; port?: unknown };
  return (kind === 'unix' && typeof path === 'string') || (kind === 'tcp' && typeof host === 'string' && Number.isInteger(port));
}
