import { EnvHttpProxyAgent } from 'undici';
import { z } from 'zod';
import type { ExamplesConfig } from '../config';
import { UpstreamFailure, fetchBounded } from './fetch-bounded';
import { TargetUrl } from './target-url';
import { ApiRouter, type AppContext, describeTarget, EgressAllowlist, errorResponse, forbidden, HttpError } from '../../express';

const DEFAULT_MAX_BODY_BYTES = 64 << 10;
const DEFAULT_TIMEOUT_MS = 10_000;

const OutboundQuery = z.object({ url: TargetUrl });

const Fetched = z.object({
  status: z.number().int().describe('The upstream status code; a 3xx is returned as is, never followed.'),
  contentType: z.string().nullable().describe('The upstream Content-Type, or null.'),
  location: z.string().nullable().describe('The upstream Location header, as sent (for redirects), or null.'),
  body: z.string().describe('The body, decoded as UTF-8 (invalid bytes become U+FFFD), cut at the byte limit.'),
  truncated: z.boolean().describe('True when the body was longer than the limit; the rest was not read.'),
  bytes: z.number().int().describe('Bytes of body returned, at most the configured maxBodyBytes.'),
});

/**
 * `GET /outbound?url=…`: fetches an allowlisted URL for an identified caller through the
 * process's egress (HTTP_PROXY / HTTPS_PROXY / NO_PROXY as set when the app is created) and
 * returns its status and a bounded body. A destination not on the configuration's `outbound`
 * list is refused before any DNS lookup or connection (DESIGN.md, invariant 4). Logs carry the
 * destination's host and port only, never the path, query or body.
 */
export function outboundApp(settings: ExamplesConfig['outbound'], ctx: AppContext): ApiRouter {
  const allowlist = new EgressAllowlist(ctx.outbound);
  const maxBodyBytes = settings?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = settings?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const dispatcher = new EnvHttpProxyAgent({
    // undici would re-read NO_PROXY on every request; pinning it keeps the egress path the one the
    // app was created with, like the proxies themselves.
    noProxy: process.env.no_proxy ?? process.env.NO_PROXY ?? '',
    // Plain-http requests go to the proxy in absolute form, as forward proxies expect (curl does
    // the same); https still tunnels with CONNECT.
    proxyTunnel: false,
  });

  return new ApiRouter('/outbound', ctx.limits.jsonBodyBytes).get(
    '/',
    {
      summary: 'Fetch an allowlisted URL and return its status and a bounded body.',
      description:
        'Only the exact host and port pairs listed under `outbound` in the configuration can be reached ' +
        '(host case-insensitive, trailing dot ignored, IP literals only if listed). Redirects are returned, ' +
        `not followed. The body is cut at ${maxBodyBytes} bytes; the whole request times out after ${timeoutMs} ms.`,
      query: OutboundQuery,
      responses: {
        200: { description: 'The upstream answered (any status).', schema: Fetched },
        400: errorResponse('INVALID_QUERY: `url` is missing, too long, not absolute http(s), or carries user:pass@.'),
        403: errorResponse('DESTINATION_NOT_ALLOWED: the host and port are not on the outbound allowlist.'),
        502: errorResponse('UPSTREAM_UNREACHABLE: the connection failed.'),
        504: errorResponse('UPSTREAM_TIMEOUT: no complete answer in time.'),
      },
    },
    async (_req, res, { query }) => {
      const { url, destination } = query.url;
      const where = describeTarget(destination);
      const logged = { host: destination.host, port: destination.port };
      if (!allowlist.allows(destination)) {
        ctx.log({ level: 'warn', event: 'outbound.refused', ...logged });
        throw forbidden(
          'DESTINATION_NOT_ALLOWED',
          `${where} is not on this enclave's outbound allowlist; only the exact host:port pairs under "outbound" in the configuration can be reached.`,
        );
      }

      const callerGone = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) callerGone.abort();
      };
      res.on('close', onClose);
      const started = process.hrtime.bigint();
      const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
      try {
        const fetched = await fetchBounded(url, { dispatcher, maxBodyBytes, timeoutMs, signal: callerGone.signal });
        ctx.log({ level: 'info', event: 'outbound.fetched', ...logged, status: fetched.status, bytes: fetched.bytes, truncated: fetched.truncated, ms: ms() });
        res.json(fetched satisfies z.output<typeof Fetched>);
      } catch (err) {
        if (!(err instanceof UpstreamFailure)) throw err;
        ctx.log({ level: 'warn', event: 'outbound.failed', ...logged, reason: err.reason, detail: err.detail, ms: ms() });
        if (err.reason === 'timeout') {
          throw new HttpError(504, 'UPSTREAM_TIMEOUT', `${where} did not answer completely within ${timeoutMs} ms.`);
        }
        if (err.reason === 'unreachable') {
          throw new HttpError(
            502,
            'UPSTREAM_UNREACHABLE',
            `Could not get a response from ${where}${err.detail ? ` (${err.detail})` : ''}; check that it is up and reachable through the enclave's egress.`,
          );
        }
        // Cancelled: the caller hung up, so there is no one left to answer.
      } finally {
        res.off('close', onClose);
      }
    },
  );
}
