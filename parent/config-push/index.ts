import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import { type Address, formatAddress } from '../../transport/address';
import { openConnection } from '../../transport/connect';
import { MAX_CONFIG_BYTES, type PushAnswer, encodeFrame, readFrame } from '../../contract/config-push-protocol';

export { type PushAnswer, type PushMessage, MAX_CONFIG_BYTES } from '../../contract/config-push-protocol';

/**
 * One push: connects to `target`, sends the configuration, and resolves with the enclave's answer.
 * Rejects when the target cannot be reached or hangs up without answering.
 */
export async function pushConfig(target: Address, config: string, format: 'json' | 'yaml', timeoutMs = 10_000): Promise<PushAnswer> {
  const socket = await openConnection(target, { timeoutMs: Math.min(timeoutMs, 5_000) });
  try {
    socket.write(encodeFrame({ v: 1, format, config }));
    const reply = (await readFrame(socket, timeoutMs)) as Partial<PushAnswer> | null;
    if (reply && reply.ok === true && typeof reply.digest === 'string') return { ok: true, digest: reply.digest };
    if (reply && reply.ok === false && typeof reply.error === 'string') return { ok: false, error: reply.error };
    throw new Error('the enclave answered something that is not a push answer');
  } finally {
    socket.destroy();
  }
}

export interface ConfigPushOptions {
  /** The enclave's config receiver (vsock://CID:5002). */
  target: Address;
  /** The configuration file (JSON, or YAML for .yaml/.yml); read again for every push. */
  configPath: string;
  log?: Logger;
  /** First and longest wait between attempts while the enclave does not accept (default 200 ms, 5 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Once accepted, how often to look for a restarted enclave waiting for its config (default 1 s). */
  watchIntervalMs?: number;
  /** Called after each push the enclave accepted (with the digest it acknowledged) or refused. */
  onAnswer?(answer: PushAnswer): void;
}

export interface ConfigPusher {
  /** Stops the loop (a push under way is abandoned). */
  stop(): Promise<void>;
}

/**
 * The parent's config push loop: pushes the configuration to the enclave, retrying with
 * exponential backoff until it is accepted, then keeps trying to connect every `watchIntervalMs`:
 * the enclave's receiver only listens while it waits for a configuration, so a connection that
 * is accepted again means the enclave restarted, and it gets the configuration again. A refused
 * configuration is logged with the enclave's reason and retried with backoff (the file is read
 * again each time, so fixing it is enough).
 */
export function startConfigPush(options: ConfigPushOptions): ConfigPusher {
  const log = options.log ?? jsonLinesLogger;
  const minDelay = options.minDelayMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const watchInterval = options.watchIntervalMs ?? 1_000;
  const format = ['.yaml', '.yml'].includes(extname(options.configPath).toLowerCase()) ? 'yaml' : 'json';
  const target = formatAddress(options.target);
  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async () => {
    let delay = minDelay;
    let accepted = false; // the enclave has the current config; now watching for a restart
    let lastFailure: string | undefined;
    while (!stopped) {
      let text: string;
      try {
        const bytes = await readFile(options.configPath);
        if (bytes.length > MAX_CONFIG_BYTES) throw new Error(`it is larger than ${MAX_CONFIG_BYTES} bytes`);
        text = bytes.toString('utf8');
      } catch (e) {
        log({ level: 'error', event: 'config_push_unreadable', file: options.configPath, reason: (e as Error).message });
        await sleep((delay = Math.min(maxDelay, delay * 2)));
        continue;
      }
      let answer: PushAnswer | undefined;
      try {
        answer = await pushConfig(options.target, text, format);
      } catch (e) {
        // Not listening: the enclave is still booting, or is running with its configuration.
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        if (!accepted && code !== lastFailure) log({ level: 'info', event: 'config_push_waiting', target, code });
        lastFailure = code;
      }
      if (stopped) break;
      if (answer?.ok) {
        log({ level: 'info', event: 'config_pushed', target, digest: answer.digest });
        options.onAnswer?.(answer);
        accepted = true;
        lastFailure = undefined;
        delay = minDelay;
      } else if (answer) {
        log({ level: 'error', event: 'config_push_refused', target, reason: answer.error });
        options.onAnswer?.(answer);
        accepted = false;
      }
      if (accepted) await sleep(watchInterval);
      else await sleep((delay = Math.min(maxDelay, delay * 2)));
    }
  };
  const running = loop();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
