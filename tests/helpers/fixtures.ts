import { createHash } from 'node:crypto';
import type { LogEntry, Logger } from '../../contract/log';
import { createApp } from './examples-app';

/** A well-formed client key reference for a test user (the digest of its name, not a real key). */
export const userKey = (name: string) => `sha256:${createHash('sha256').update(name).digest('hex')}`;

const user = (name: string, role: string) => ({ name, role, key: userKey(name) });

/**
 * A deployment with three bidders for the millionaire app (alice, bob, carol), three parties for
 * PSI (dave, erin, frank), three analysts for stats (gina, hank, ivan) and one caller with no app
 * role (mallory).
 */
export function fixtureConfig() {
  return {
    users: [
      user('alice', 'bidder'),
      user('bob', 'bidder'),
      user('carol', 'bidder'),
      user('dave', 'party'),
      user('erin', 'party'),
      user('frank', 'party'),
      user('gina', 'analyst'),
      user('hank', 'analyst'),
      user('ivan', 'analyst'),
      user('mallory', 'guest'),
    ],
    outbound: [] as { host: string; port: number }[],
    apps: {
      millionaire: { role: 'bidder' },
      // The PSI tests open many sessions as one caller; the limits themselves are tested apart.
      psi: { role: 'party', maxPerCaller: 1_000 },
      stats: { role: 'analyst' },
    } as Record<string, Record<string, unknown>>,
  };
}

/** A logger that keeps every line, so tests can assert what was (and was not) logged. */
export function capturingLogger(): { log: Logger; lines: LogEntry[]; text(): string } {
  const lines: LogEntry[] = [];
  return { log: (e) => lines.push(e), lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

/** createApp with a fixture configuration (optionally changed) and a capturing logger. */
export function fixtureApp(change: (config: ReturnType<typeof fixtureConfig>) => void = () => {}) {
  const config = fixtureConfig();
  change(config);
  const logs = capturingLogger();
  return { app: createApp(config, { log: logs.log }), logs, config };
}
