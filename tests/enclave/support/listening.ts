import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The sockets a process listens on: TCP (address as text, port) and unix socket paths. */
export interface Listening {
  tcp: { host: string; port: number }[];
  unix: string[];
}

/**
 * What process `pid` listens on, read from /proc (Linux): its socket file descriptors matched
 * against the kernel's tables of listening TCP (IPv4 and IPv6) and unix sockets.
 */
export function listeningSockets(pid: number): Listening {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // The descriptor closed while we were listing them.
    }
  }
  const tcp: Listening['tcp'] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const LISTEN = '0A';
      if (fields.length < 10 || fields[3] !== LISTEN || !inodes.has(fields[9]!)) continue;
      const [address, port] = fields[1]!.split(':');
      tcp.push({ host: table === 'tcp' ? ipv4(address!) : ipv6(address!), port: parseInt(port!, 16) });
    }
  }
  const unix: string[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const ACCEPTING = 0x10000;
    if (fields.length >= 8 && inodes.has(fields[6]!) && (parseInt(fields[3]!, 16) & ACCEPTING) !== 0) unix.push(fields[7]!);
  }
  return { tcp, unix };
}

/** /proc writes an IPv4 address as one little-endian 32-bit word in hex. */
function ipv4(hex: string): string {
  return Buffer.from(hex, 'hex').reverse().join('.');
}

/** …and an IPv6 address as four such words. */
function ipv6(hex: string): string {
  const bytes = Buffer.concat([0, 8, 16, 24].map((at) => Buffer.from(hex.slice(at, at + 8), 'hex').reverse()));
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.replace(/^\[|\]$/g, '');
}
