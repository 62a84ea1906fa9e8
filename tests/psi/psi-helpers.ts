import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { TestServer } from '../../express/testing';

/** The PSI parties of the fixture configuration. */
export const PARTY = 'party';

export interface SessionOptions {
  id?: string;
  cardinalityOnly?: boolean;
  normalize?: { trim?: boolean; caseFold?: boolean };
}

/** Creates a session as dave (a party) and returns its id. */
export async function createSession(t: TestServer, participants: string[], options: SessionOptions = {}): Promise<string> {
  const res = await t
    .as('dave', PARTY)
    .post('/psi/sessions')
    .send({ participants, ...options })
    .expect(201);
  return res.body.id as string;
}

export type Format = 'json' | 'text' | 'csv';

/** A set encoded as a body of the given format (CSV: every field quoted, a second column of noise). */
export function encode(items: string[], format: Format): { type: string; body: string } {
  switch (format) {
    case 'json':
      return { type: 'application/json', body: JSON.stringify(items) };
    case 'text':
      return { type: 'text/plain', body: items.map((i) => `${i}\n`).join('') };
    case 'csv':
      return { type: 'text/csv', body: items.map((i) => `"${i.replace(/"/g, '""')}",x\r\n`).join('') };
  }
}

/** Submits `items` as `name` in the given format. */
export function submit(t: TestServer, name: string, session: string, items: string[], format: Format = 'json') {
  const { type, body } = encode(items, format);
  return t.as(name, PARTY).post(`/psi/sessions/${session}/set`).set('Content-Type', type).send(body);
}

/**
 * An upload whose body the test writes piece by piece, to hold it open while other requests run.
 * `response` settles when the server answers (or the connection fails).
 */
export function openUpload(t: TestServer, name: string, session: string, type = 'text/plain') {
  const req: ClientRequest = httpRequest(`${t.url}/psi/sessions/${session}/set`, {
    method: 'POST',
    headers: { 'Content-Type': type, 'X-OBLV-User-Name': name, 'X-OBLV-User-Role': PARTY },
  });
  const response = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return { req, response };
}

/** Resolves once `condition` holds, polling; for waiting on the server's side of a test. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Resolves once the server has taken the next request into the app (after Express ran the
 * handler's synchronous start), so a test knows an upload is registered before it goes on.
 */
export function nextRequestSeen(t: TestServer): Promise<void> {
  return new Promise((resolve) => t.server.once('request', () => setImmediate(resolve)));
}
