import { Agent, request } from 'node:https';

/** A response, or how the request failed. */
export type Outcome = { status: number; body: string; ms: number; retryAfter?: string } | { error: string; ms: number };

/** A TLS client for the ingress: alice's certificate when given, the enclave's self-signed key accepted. */
export function ingressAgent(identity?: { keyPem: string; certPem: string }, maxSockets = 50): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets,
    // These tests are about the supervisor; the client's attestation checks are tested elsewhere.
    rejectUnauthorized: false,
    ...(identity && { key: identity.keyPem, cert: identity.certPem }),
  });
}

/** Where the ingress listens: a port on 127.0.0.1, or a unix socket path. */
export type Target = number | string;

/**
 * One HTTPS request to the ingress that never waits longer than `timeoutMs`: past it the outcome
 * is `{error: 'TIMEOUT'}`, which is what "a client hangs" looks like here.
 */
export function call(target: Target, path: string, agent: Agent, options: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<Outcome> {
  const started = Date.now();
  return new Promise((finish) => {
    const resolve = (outcome: Outcome) => {
      clearTimeout(timer);
      finish(outcome);
    };
    const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { socketPath: target };
    const headers = { host: 'localhost', ...(options.body !== undefined && { 'content-type': 'application/json' }) };
    const req = request({ ...where, path, method: options.method ?? 'GET', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const retryAfter = res.headers['retry-after'];
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started, ...(retryAfter !== undefined && { retryAfter }) }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
      res.on('close', () => {
        if (!res.complete) resolve({ error: 'RESPONSE_CUT', ms: Date.now() - started });
      });
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), options.timeoutMs ?? 5_000);
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
    req.end(options.body);
  });
}

/** A request whose body the test writes piece by piece, to have one in flight at a chosen moment. */
export interface StreamingCall {
  write(text: string): void;
  end(text?: string): void;
  outcome: Promise<Outcome>;
}

/** Starts a chunked POST of `contentType` to the ingress; the outcome settles as `call`'s does. */
export function streamingCall(target: Target, path: string, agent: Agent, contentType: string, timeoutMs = 10_000): StreamingCall {
  const started = Date.now();
  const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { socketPath: target };
  let req!: ReturnType<typeof request>;
  const outcome = new Promise<Outcome>((finish) => {
    const resolve = (result: Outcome) => {
      clearTimeout(timer);
      finish(result);
    };
    req = request({ ...where, path, method: 'POST', agent, headers: { host: 'localhost', 'content-type': contentType } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const retryAfter = res.headers['retry-after'];
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started, ...(retryAfter !== undefined && { retryAfter }) }));
      res.on('close', () => {
        if (!res.complete) resolve({ error: 'RESPONSE_CUT', ms: Date.now() - started });
      });
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
  });
  return { write: (text) => req.write(text), end: (text) => req.end(text), outcome };
}
