import { z } from 'zod';
import { destinationOf } from './destination';
import { type EgressTarget } from '../../express';

/** Longest `url` accepted, in characters: ample for API calls, and a bound on what one request can carry. */
export const MAX_URL_CHARS = 2048;

/** A URL the outbound app may try: parsed once, so the host checked is the host fetched. */
export interface Target {
  url: URL;
  destination: EgressTarget;
}

/**
 * The `url` query parameter: an absolute http(s) URL without userinfo, parsed by the WHATWG
 * parser that `fetch` itself uses. Handing `fetch` this parsed URL (not the raw string) rules out
 * any disagreement between the host the allowlist saw and the host that is dialled.
 */
export const TargetUrl = z
  .string({
    error: (issue) => (issue.input === undefined ? 'required: the absolute http(s) URL to fetch' : 'give exactly one url parameter'),
  })
  .min(1, 'required: the absolute http(s) URL to fetch')
  .max(MAX_URL_CHARS, `at most ${MAX_URL_CHARS} characters`)
  .describe(`The absolute http:// or https:// URL to GET, without user:password@; at most ${MAX_URL_CHARS} characters.`)
  .transform((raw, ctx): Target => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not an absolute URL; give one such as https://api.example.com/path' });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'only http: and https: URLs can be fetched' });
      return z.NEVER;
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'a URL with a user name or password (user:pass@) is not accepted' });
      return z.NEVER;
    }
    const destination = destinationOf(url);
    if (!destination) {
      ctx.addIssue({ code: 'custom', message: 'the host is not a valid DNS name or IP address (look for doubled or leading dots)' });
      return z.NEVER;
    }
    return { url, destination };
  });
