import express from 'express';
import request from 'supertest';
import { HttpError, consumeBody, errorHandler, readBody } from '../../express';
import { silentLogger } from '../../contract/log';

/** An app whose POST /body consumes the body with `onChunk`, answering what it saw. */
function appWith(limit: number, onChunk: (chunk: Buffer) => void | Promise<void>) {
  const app = express();
  app.post('/body', async (req, res) => {
    let ended = 0;
    await consumeBody(req, limit, onChunk, { end: () => void ended++ });
    res.json({ ended });
  });
  app.use(errorHandler(silentLogger));
  return app;
}

describe('consumeBody', () => {
  it('hands over every byte once, runs end once, and waits for a returned promise before reading on', async () => {
    const seen: Buffer[] = [];
    let pausedReads = 0;
    let paused = false;
    const app = appWith(1 << 20, (chunk) => {
      if (paused) pausedReads++;
      seen.push(chunk);
      paused = true;
      return new Promise((resolve) =>
        setTimeout(() => {
          paused = false;
          resolve();
        }, 2),
      );
    });
    const body = 'x'.repeat(300_000);
    const res = await request(app).post('/body').set('Content-Type', 'text/plain').send(body).expect(200);
    expect(res.body).toEqual({ ended: 1 });
    expect(Buffer.concat(seen).toString()).toBe(body);
    expect(pausedReads).toBe(0);
  });

  it('refuses a body over the limit (413), and one that onChunk refuses, with its error', async () => {
    await request(appWith(10, () => {}))
      .post('/body')
      .set('Content-Type', 'text/plain')
      .send('x'.repeat(11))
      .expect(413, /BODY_TOO_LARGE/);
    const refusing = appWith(1 << 20, () => {
      throw new HttpError(422, 'NOT_THIS', 'No.');
    });
    await request(refusing)
      .post('/body')
      .set('Content-Type', 'text/plain')
      .send('abc')
      .expect(422, /NOT_THIS/);
  });

  it('is what readBody buffers with', async () => {
    const app = express();
    app.post('/echo', async (req, res) => void res.json({ text: (await readBody(req, 100)).toString() }));
    app.use(errorHandler(silentLogger));
    expect((await request(app).post('/echo').set('Content-Type', 'text/plain').send('hello').expect(200)).body).toEqual({ text: 'hello' });
  });
});
