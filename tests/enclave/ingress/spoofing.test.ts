import { type Stack, identityHeaders, injected, parseResponses, rawExchange, startStack } from '../../helpers/network-harness';

/**
 * Every spoofing attempt is sent byte for byte over TLS, once with alice's certificate and once
 * with none. Forged values are always bob/admin; the app must only ever see alice/bidder (with the
 * certificate) or no identity at all (without).
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const FORGED = 'X-OBLV-User-Name: bob\r\nX-OBLV-User-Role: admin\r\n';

/** A request the ingress refuses outright (400 unless said otherwise, connection closed, nothing forwarded). */
interface Refused {
  kind: 'refused';
  status?: number;
  bytes: (tag: string) => string;
}
/** Requests the ingress forwards: `requests` of them reach the app, none with a forged identity. */
interface Forwarded {
  kind: 'forwarded';
  requests: number;
  bytes: (tag: string) => string;
}

const get = (tag: string, headers: string, last = true) => `GET /echo/${tag} HTTP/1.1\r\nHost: enclave\r\n${headers}${last ? 'Connection: close\r\n' : ''}\r\n`;
const smuggled = (tag: string) => `GET /echo/${tag}-smuggled HTTP/1.1\r\nHost: enclave\r\n${FORGED}\r\n`;
const chunked = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;

const CASES: Record<string, Refused | Forwarded> = {
  'lower-case names': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, FORGED.toLowerCase()) },
  'upper-case names': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X-OBLV-USER-NAME: bob\r\nX-OBLV-USER-ROLE: admin\r\n') },
  'mixed-case names': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'x-oBlV-uSeR-nAmE: bob\r\nX-oblv-USER-role: admin\r\n') },
  'duplicated headers': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, FORGED + FORGED + 'x-oblv-user-name: bob\r\n') },
  'underscores for dashes': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X_OBLV_User_Name: bob\r\nX_OBLV_User_Role: admin\r\n') },
  'mixed separators': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X-OBLV_User-Name: bob\r\nx_oblv-user_role: admin\r\n') },
  'other X-OBLV headers': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X-OBLV-User: bob\r\nX-OBLV-User-Name-2: bob\r\nx-oblv-: admin\r\n') },
  'empty identity values': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X-OBLV-User-Name:\r\nX-OBLV-User-Role: \r\n') },
  'a list of names': { kind: 'forwarded', requests: 1, bytes: (t) => get(t, 'X-OBLV-User-Name: alice, bob\r\nX-OBLV-User-Role: bidder, admin\r\n') },
  'Connection naming the identity headers': {
    kind: 'forwarded',
    requests: 1,
    bytes: (t) => `GET /echo/${t} HTTP/1.1\r\nHost: enclave\r\nConnection: close, X-OBLV-User-Name, X-OBLV-User-Role\r\n${FORGED}\r\n`,
  },
  'Expect: 100-continue': {
    kind: 'forwarded',
    requests: 1,
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nExpect: 100-continue\r\nContent-Length: 2\r\n${FORGED}Connection: close\r\n\r\nok`,
  },
  'HTTP/1.0': { kind: 'forwarded', requests: 1, bytes: (t) => `GET /echo/${t} HTTP/1.0\r\nHost: enclave\r\n${FORGED}\r\n` },
  'forged trailers of a chunked body': {
    kind: 'forwarded',
    requests: 1,
    bytes: (t) =>
      `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\nTrailer: X-OBLV-User-Name\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n${FORGED}\r\n`,
  },
  'obsolete line folding after another header': { kind: 'refused', bytes: (t) => get(t, 'X-Note: a\r\n X-OBLV-User-Name: bob\r\n') },
  'obsolete line folding of the identity value': { kind: 'refused', bytes: (t) => get(t, 'X-OBLV-User-Name: alice\r\n\tbob\r\nX-OBLV-User-Role: admin\r\n') },
  'space before the colon': { kind: 'refused', bytes: (t) => get(t, 'X-OBLV-User-Name : bob\r\n') },
  'bare LF line endings': { kind: 'refused', bytes: (t) => `GET /echo/${t} HTTP/1.1\nHost: enclave\nX-OBLV-User-Name: bob\n\n` },
  'bare CR inside a header': { kind: 'refused', bytes: (t) => get(t, 'X-Note: a\rX-OBLV-User-Name: bob\r\n') },
  'a control character in a value': { kind: 'refused', bytes: (t) => get(t, 'X-Note: a\x00\r\nX-OBLV-User-Name: bob\r\n') },
  'Content-Length with Transfer-Encoding': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'Transfer-Encoding with Content-Length': {
    kind: 'refused',
    bytes: (t) =>
      `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\nContent-Length: ${5 + smuggled(t).length}\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'Transfer-Encoding chunked, identity': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'two Transfer-Encoding headers': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'an unknown transfer coding': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'Transfer-Encoding with a space before the colon': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'duplicate equal Content-Length': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok${smuggled(t)}`,
  },
  'duplicate different Content-Length': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nContent-Length: 2\r\nContent-Length: ${2 + smuggled(t).length}\r\n\r\nok${smuggled(t)}`,
  },
  'a Content-Length list': { kind: 'refused', bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nContent-Length: 2, 2\r\n\r\nok${smuggled(t)}` },
  'a signed Content-Length': { kind: 'refused', bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nContent-Length: +2\r\n\r\nok${smuggled(t)}` },
  'an overflowing chunk size': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\nok\r\n0\r\n\r\n${smuggled(t)}`,
  },
  'a chunk without CRLF': {
    kind: 'refused',
    bytes: (t) => `POST /echo/${t} HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n${smuggled(t)}`,
  },
  'two Host headers': { kind: 'refused', bytes: (t) => `GET /echo/${t} HTTP/1.1\r\nHost: enclave\r\nHost: other\r\n${FORGED}\r\n` },
  'an absolute-form target': { kind: 'refused', bytes: (t) => `GET http://enclave/echo/${t} HTTP/1.1\r\nHost: enclave\r\n${FORGED}\r\n` },
  'an HTTP/2 preface': { kind: 'refused', bytes: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  'pipelined requests, the second forging': {
    kind: 'forwarded',
    requests: 3,
    bytes: (t) => get(`${t}/1`, '', false) + get(`${t}/2`, FORGED, false) + get(`${t}/3`, 'x_oblv_user_name: bob\r\n'),
  },
  'a request smuggled inside a Content-Length body': {
    kind: 'forwarded',
    requests: 2,
    bytes: (t) => `POST /echo/${t}/1 HTTP/1.1\r\nHost: enclave\r\nContent-Length: ${smuggled(t).length}\r\n\r\n${smuggled(t)}` + get(`${t}/2`, ''),
  },
  'a request smuggled inside a chunked body': {
    kind: 'forwarded',
    requests: 2,
    bytes: (t) => `POST /echo/${t}/1 HTTP/1.1\r\nHost: enclave\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(smuggled(t))}` + get(`${t}/2`, ''),
  },
  'more bytes than Content-Length: the rest is a next request, not the same one': {
    kind: 'forwarded',
    requests: 2,
    bytes: (t) => `POST /echo/${t}/1 HTTP/1.1\r\nHost: enclave\r\nContent-Length: 2\r\n\r\nok` + get(`${t}/2`, FORGED),
  },
  'an Upgrade request followed by a forged one': {
    kind: 'refused',
    status: 501,
    bytes: (t) => `GET /echo/${t}/1 HTTP/1.1\r\nHost: enclave\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${FORGED}\r\n` + get(`${t}/2`, FORGED),
  },
  'a CONNECT tunnel followed by a forged request': {
    kind: 'refused',
    status: 405,
    bytes: (t) => `CONNECT app:80 HTTP/1.1\r\nHost: app:80\r\n\r\n` + get(`${t}/2`, FORGED),
  },
};

const WHO = {
  'with alice’s certificate': { credentials: () => stack.clients.alice, expected: injected('alice', 'bidder') },
  'without a certificate': { credentials: () => undefined, expected: [] as [string, string][] },
};

let counter = 0;

describe.each(Object.entries(WHO))('spoofing %s', (_who, { credentials, expected }) => {
  it.each(Object.entries(CASES))('%s', async (_name, spoof) => {
    const tag = `case-${++counter}`;
    const raw = await rawExchange(stack.port, spoof.bytes(tag), credentials());
    const responses = parseResponses(raw);
    const reached = stack.app.seen.filter((s) => s.url.startsWith(`/echo/${tag}`));
    if (spoof.kind === 'refused') {
      expect(responses.map((r) => r.status)).toEqual([spoof.status ?? 400]);
      expect(JSON.parse(responses[0]!.body)).toMatchObject({ error: expect.any(String), message: expect.any(String) });
      expect(reached).toEqual([]);
    } else {
      // 100 Continue is the interim answer to Expect, not a response of its own.
      const final = responses.filter((r) => r.status >= 200);
      expect(final.map((r) => r.status)).toEqual(Array(spoof.requests).fill(200));
      expect(reached.map((s) => s.url).filter((u) => u.includes('smuggled'))).toEqual([]);
      expect(reached).toHaveLength(spoof.requests);
      for (const seen of reached) expect(identityHeaders(seen)).toEqual(expected);
      // What the app saw is also what it answered with: the echo of the headers it received.
      for (const r of final) expect(identityHeaders(JSON.parse(r.body))).toEqual(expected);
    }
  });
});

describe('after every attempt', () => {
  it('no request ever reached the app as bob or as admin', () => {
    expect(stack.app.seen.length).toBeGreaterThan(0);
    const forged = stack.app.seen.filter((s) => identityHeaders(s).some(([, v]) => /bob|admin/.test(v)));
    expect(forged).toEqual([]);
  });

  it('logged each refusal as a bad request, without the request bytes', () => {
    const refusals = stack.logs.filter((l) => l.event === 'bad_request');
    expect(refusals.length).toBeGreaterThan(0);
    expect(JSON.stringify(stack.logs)).not.toMatch(/bob|admin/);
  });
});
