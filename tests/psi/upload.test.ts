import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY, createSession, eventually, nextRequestSeen, openUpload, submit } from './psi-helpers';

/** Default limits. */
let t: TestServer;
/** Tiny limits, to reach them: 5 distinct items of at most 8 bytes, JSON bodies of at most 200 bytes. */
let limited: TestServer;
let logs: ReturnType<typeof fixtureApp>['logs'];
beforeAll(async () => {
  const fixture = fixtureApp();
  logs = fixture.logs;
  t = await serve(fixture.app);
  limited = await serve(fixtureApp((c) => (c.apps.psi = { ...c.apps.psi, maxItems: 5, maxItemBytes: 8, maxUploadBytes: 200 })).app);
});
afterAll(() => Promise.all([t.close(), limited.close()]));

/** Posts a body as is (superagent would re-encode a Buffer sent as JSON, so bytes are written raw). */
const post = (name: string, session: string, type: string | undefined, body: string | Buffer, query = '', on = t) => {
  const req = on.as(name, PARTY).post(`/psi/sessions/${session}/set${query}`);
  if (type !== undefined) req.set('Content-Type', type);
  if (typeof body === 'string') return req.send(body);
  req.write(body);
  return req;
};

/** dave submits `body`; erin submits `erinItems` as JSON; returns the intersection dave reads. */
async function intersectionWith(type: string, body: string | Buffer, erinItems: string[], options = {}, query = '') {
  const id = await createSession(t, ['dave', 'erin'], options);
  const first = await post('dave', id, type, body, query).expect(201);
  await submit(t, 'erin', id, erinItems).expect(201);
  const res = await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200);
  return { received: first.body.received, intersection: res.body.intersection };
}

describe('POST /psi/sessions/:session/set formats', () => {
  it('takes a JSON array of strings and answers with the distinct count and who is missing', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    const res = await submit(t, 'dave', id, ['b', 'a', 'b', '']).expect(201);
    expect(res.body).toEqual({ received: 2, missing: ['erin'] });
  });

  it('takes text/plain one item per line: LF or CRLF, blank lines and a missing final newline are fine', async () => {
    const body = 'apple\r\n\npear\r\n\r\nfig\nkiwi';
    expect(await intersectionWith('text/plain; charset=utf-8', body, ['fig', 'kiwi', 'apple', 'plum'])).toEqual({
      received: 4,
      intersection: ['apple', 'fig', 'kiwi'],
    });
  });

  it('keeps spaces and case as sent when the session does not normalise', async () => {
    expect(await intersectionWith('text/plain', ' a\nB\n', ['a', 'B', 'b'])).toEqual({ received: 2, intersection: ['B'] });
  });

  it('takes the first column of text/csv with RFC 4180 quoting', async () => {
    const body = '"a,b",1\r\n"say ""hi""",2\n"multi\nline",3\nplain,"x,y"\n,empty first\n""\n';
    expect(await intersectionWith('text/csv', body, ['a,b', 'say "hi"', 'multi\nline', 'plain', 'x,y'])).toEqual({
      received: 4,
      intersection: ['a,b', 'multi\nline', 'plain', 'say "hi"'],
    });
  });

  it('skips the CSV header row with ?header=true, and only then', async () => {
    const body = 'item,note\nb,1\n';
    expect(await intersectionWith('text/csv', body, ['item', 'b'], {}, '?header=true')).toEqual({ received: 1, intersection: ['b'] });
    expect(await intersectionWith('text/csv', body, ['item', 'b'], {}, '?header=false')).toEqual({ received: 2, intersection: ['b', 'item'] });
  });

  it('ignores a UTF-8 byte order mark at the start', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('é\nx\n')]);
    expect(await intersectionWith('text/plain', body, ['é'])).toEqual({ received: 2, intersection: ['é'] });
  });

  it('normalises items as the session says: trim, and NFC + lower case', async () => {
    const options = { normalize: { trim: true, caseFold: true } };
    // "Cafe\u0301" is "Café" with a combining accent: NFC makes it the precomposed é.
    const body = '  Café \nCAFE\u0301\n\t\nStraße\n';
    expect(await intersectionWith('text/plain', body, ['café', 'STRASSE', ' strasse '], options)).toEqual({
      received: 2,
      intersection: ['café'],
    });
  });

  it('answers 201 with received 0 for an empty set', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    expect((await post('dave', id, 'text/plain', '').expect(201)).body).toEqual({ received: 0, missing: ['erin'] });
  });
});

describe('POST /psi/sessions/:session/set errors', () => {
  let id: string;
  beforeEach(async () => {
    id = await createSession(limited, ['dave', 'erin', 'frank']);
  });
  const send = (name: string, type: string | undefined, body: string | Buffer, query = '') => post(name, id, type, body, query, limited);

  /** After a refused upload the session is unchanged: dave can still submit, and is still missing. */
  async function expectNothingStored(missing = ['erin', 'frank']) {
    await limited.as('erin', PARTY).get(`/psi/sessions/${id}/result`).expect(409);
    const res = await submit(limited, 'dave', id, ['ok']).expect(201);
    expect(res.body).toEqual({ received: 1, missing });
  }

  it('answers 404 SESSION_NOT_FOUND for an unknown session', async () => {
    const res = await submit(limited, 'dave', 'nope', ['a']).expect(404);
    expect(res.body.error).toBe('SESSION_NOT_FOUND');
  });

  it('answers 401 to an anonymous caller', async () => {
    const res = await limited.anonymous.post(`/psi/sessions/${id}/set`).set('Content-Type', 'text/plain').send('a\n').expect(401);
    expect(res.body.error).toBe('UNAUTHENTICATED');
  });

  it('answers 403 NOT_A_PARTICIPANT to a caller outside the session, whatever its role', async () => {
    const small = await createSession(limited, ['dave', 'erin']);
    expect((await submit(limited, 'frank', small, ['a']).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    expect((await limited.as('mallory', 'guest').post(`/psi/sessions/${small}/set`).send(['a']).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
  });

  it('answers 409 ALREADY_SUBMITTED to a second submission and keeps the first', async () => {
    await submit(limited, 'dave', id, ['a', 'b']).expect(201);
    const res = await submit(limited, 'dave', id, ['c']).expect(409);
    expect(res.body.error).toBe('ALREADY_SUBMITTED');
    await submit(limited, 'erin', id, ['a', 'c']).expect(201);
    await submit(limited, 'frank', id, ['a', 'c']).expect(201);
    expect((await limited.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body).toEqual({ intersection: ['a'], jws: expect.any(String) });
  });

  it.each([
    ['no Content-Type', undefined],
    ['application/xml', 'application/xml'],
    ['text/html', 'text/html'],
    ['a charset other than UTF-8', 'text/plain; charset=iso-8859-1'],
  ])('answers 415 UNSUPPORTED_MEDIA_TYPE for %s', async (_what, type) => {
    const res = await send('dave', type, 'a\n').expect(415);
    expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored();
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a compressed body', async () => {
    const res = await limited
      .as('dave', PARTY)
      .post(`/psi/sessions/${id}/set`)
      .set('Content-Type', 'text/plain')
      .set('Content-Encoding', 'gzip')
      .send('a\n')
      .expect(415);
    expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored();
  });

  it('answers 413 SET_TOO_LARGE past maxItems distinct items (duplicates do not count)', async () => {
    await send('frank', 'text/plain', 'a\nb\nc\nd\ne\na\nb\n').expect(201);
    const res = await send('dave', 'text/plain', 'a\nb\nc\nd\ne\nf\n').expect(413);
    expect(res.body.error).toBe('SET_TOO_LARGE');
    expect(res.body.message).toMatch(/more than 5 distinct items/);
    await expectNothingStored(['erin']);
  });

  it('counts distinct items past the limit also for items outside the intersection so far', async () => {
    await send('frank', 'text/plain', 'a\n').expect(201);
    const res = await send('dave', 'application/json', JSON.stringify(['v', 'w', 'x', 'y', 'z', 'a', 'v'])).expect(413);
    expect(res.body.error).toBe('SET_TOO_LARGE');
  });

  it.each([
    ['a text line', 'text/plain', 'short\n123456789\n', /line 2/],
    ['a last text line without newline', 'text/plain', '123456789', /line 1/],
    ['a CSV first field', 'text/csv', 'ok,1\n"12345678""",2\n', /row 2/],
    ['a JSON string (counted in decoded UTF-8 bytes)', 'application/json', '["ok", "ééééé"]', /index 1/],
  ])('answers 413 ITEM_TOO_LONG for %s over maxItemBytes', async (_what, type, body, where) => {
    const res = await send('dave', type, body).expect(413);
    expect(res.body.error).toBe('ITEM_TOO_LONG');
    expect(res.body.message).toMatch(where);
    await expectNothingStored();
  });

  it('allows an item of exactly maxItemBytes, with or without CR, and a long other CSV column', async () => {
    await send('dave', 'text/plain', '12345678\r\nabcdéfg\n').expect(201);
    await send('erin', 'text/csv', `12345678,${'z'.repeat(100)}\n`).expect(201);
    await send('frank', 'application/json', '["\\u0031\\u0032345678"]').expect(201);
    expect((await limited.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body).toEqual({
      intersection: ['12345678'],
      jws: expect.any(String),
    });
  });

  it.each([
    ['application/json', JSON.stringify(Array.from({ length: 40 }, () => 'abcd'))],
    ['text/plain', 'abcd\n'.repeat(60)],
    ['text/csv', `a,${'z'.repeat(300)}\n`],
  ])('answers 413 BODY_TOO_LARGE for a %s body over maxUploadBytes, declared or streamed', async (type, big) => {
    expect((await send('dave', type, big).expect(413)).body.error).toBe('BODY_TOO_LARGE');
    const chunked = limited.as('dave', PARTY).post(`/psi/sessions/${id}/set`).set('Content-Type', type);
    chunked.write(big.slice(0, 100));
    chunked.write(big.slice(100));
    expect((await chunked.expect(413)).body.error).toBe('BODY_TOO_LARGE');
    await expectNothingStored();
  });

  it.each([
    ['text/plain', Buffer.from([0x61, 0x0a, 0x62, 0xff, 0x0a]), /line 2/],
    ['text/plain', Buffer.from([0x61, 0x0a, 0xe2, 0x82]), /line 2/],
    ['text/csv', Buffer.from([0x22, 0xc3, 0x28, 0x22, 0x0a]), /row 1/],
    ['application/json', Buffer.from([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]), /index 0/],
    ['application/json', Buffer.from('["ok","\\ud800"]'), /index 1/],
    ['application/json', Buffer.from('["\\udc00x"]'), /index 0/],
  ])('answers 400 INVALID_UTF8 for invalid UTF-8 in %s', async (type, body, where) => {
    const res = await send('dave', type, body).expect(400);
    expect(res.body.error).toBe('INVALID_UTF8');
    expect(res.body.message).toMatch(where);
    await expectNothingStored();
  });

  it('accepts a genuine U+FFFD', async () => {
    await send('dave', 'text/plain', 'a\uFFFDb\n').expect(201);
  });

  it.each([
    ['an object', '{"items":["a"]}'],
    ['a number element', '["a", 1]'],
    ['a nested array', '[["a"]]'],
    ['a trailing comma', '["a",]'],
    ['an unclosed array', '["a"'],
    ['an unclosed string', '["a'],
    ['text after the array', '["a"] x'],
    ['a raw newline in a string', '["a\nb"]'],
    ['a bad escape', '["a\\x"]'],
    ['a bad \\u escape', '["\\u12G4"]'],
    ['an empty body', ''],
  ])('answers 400 MALFORMED_JSON for %s', async (_what, body) => {
    const res = await send('dave', 'application/json', body).expect(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
    await expectNothingStored();
  });

  it.each([
    ['a quote inside an unquoted field', 'ab"c\n', /row 1/],
    ['text after a closing quote', 'ok\n"a"b,1\n', /row 2/],
    ['an unclosed quote', 'ok\n"abc\n', /row 2/],
    ['a bare carriage return', 'a\rb\n', /row 1/],
  ])('answers 400 MALFORMED_CSV for %s', async (_what, body, where) => {
    const res = await send('dave', 'text/csv', body).expect(400);
    expect(res.body.error).toBe('MALFORMED_CSV');
    expect(res.body.message).toMatch(where);
    await expectNothingStored();
  });

  it('answers 400 INVALID_QUERY for a bad or misplaced header parameter', async () => {
    expect((await send('dave', 'text/csv', 'a\n', '?header=yes').expect(400)).body.error).toBe('INVALID_QUERY');
    expect((await send('dave', 'text/plain', 'a\n', '?header=true').expect(400)).body.error).toBe('INVALID_QUERY');
    expect((await send('dave', 'text/csv', 'a\n', '?headers=true').expect(400)).body.error).toBe('INVALID_QUERY');
    await expectNothingStored();
  });

  it('answers 405 to other methods', async () => {
    await limited.as('dave', PARTY).put(`/psi/sessions/${id}/set`).expect(405);
  });
});

describe('an aborted upload', () => {
  it('changes nothing: the same party is refused while it streams, and may retry after it breaks off', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    const seen = nextRequestSeen(t);
    const upload = openUpload(t, 'dave', id);
    upload.response.catch(() => undefined);
    upload.req.write('a\nb\n');
    await seen;

    const concurrent = await submit(t, 'dave', id, ['x']).expect(409);
    expect(concurrent.body.error).toBe('ALREADY_SUBMITTED');

    upload.req.destroy();
    await eventually(() => logs.lines.some((l) => l.event === 'psi.upload.failed' && l.session === id));
    await t.as('erin', PARTY).get(`/psi/sessions/${id}/result`).expect(409);

    expect((await submit(t, 'dave', id, ['b', 'c']).expect(201)).body).toEqual({ received: 2, missing: ['erin'] });
    await submit(t, 'erin', id, ['a', 'b', 'c']).expect(201);
    expect((await t.as('erin', PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body).toEqual({ intersection: ['b', 'c'], jws: expect.any(String) });
  });

  it('does not disturb the intersection when a later party breaks off mid-upload', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    await submit(t, 'dave', id, ['a', 'b']).expect(201);
    const seen = nextRequestSeen(t);
    const upload = openUpload(t, 'erin', id, 'application/json');
    upload.response.catch(() => undefined);
    upload.req.write('["a"');
    await seen;
    upload.req.destroy();
    await eventually(() => logs.lines.some((l) => l.event === 'psi.upload.failed' && l.session === id));
    await submit(t, 'erin', id, ['b']).expect(201);
    expect((await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body).toEqual({ intersection: ['b'], jws: expect.any(String) });
  });
});
