import { request } from 'node:https';
import type { AttestedAgent } from '../client';

/** An error answer of the apps: `{error, message}` with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'ApiError';
  }
}

/**
 * JSON over HTTPS as one user: every request goes through that user's `AttestedAgent`, so it is
 * sent only to an enclave whose attestation verified, and carries the user's client certificate,
 * from which the ingress names the caller to the app.
 */
export class JsonClient {
  constructor(
    private readonly origin: string,
    private readonly agent: AttestedAgent,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, JSON.stringify(body));
  }

  private send<T>(method: string, path: string, body?: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const headers = body === undefined ? {} : { 'content-type': 'application/json' };
      const req = request(new URL(path, this.origin), { method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          let value: { error?: string; message?: string } | undefined;
          try {
            value = JSON.parse(text);
          } catch {
            return reject(new ApiError(res.statusCode ?? 0, 'NOT_JSON', `${method} ${path} answered something other than JSON`));
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(value as T);
          else reject(new ApiError(status, value?.error ?? 'ERROR', value?.message ?? `${method} ${path} failed`));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
