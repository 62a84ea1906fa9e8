import type { ServerResponse } from 'node:http';

/**
 * Answers with the JSON error shape every Cloister component uses, `{error, message}`. With
 * `close`, the connection is closed after the response: used when the request body was not read,
 * so the rest of it is never parsed as a next request.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  options: { close?: boolean; headers?: Record<string, string> } = {},
): void {
  const body = JSON.stringify({ error, message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...options.headers,
    ...(options.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** The same error as a raw HTTP/1.1 response, for a socket whose request could not be parsed. */
export function rawErrorResponse(status: number, reason: string, error: string, message: string): string {
  const body = JSON.stringify({ error, message });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`
  );
}
