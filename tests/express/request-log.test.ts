import express from 'express';
import request from 'supertest';
import { requestLog } from '../../express';
import { capturingLogger } from '../helpers/fixtures';

describe('requestLog (for an app served without the ingress)', () => {
  it('logs method, path, status and timing of each request, without the query string or the body', async () => {
    const logs = capturingLogger();
    const app = express();
    app.use(requestLog(logs.log));
    app.post('/things', (_req, res) => res.status(201).json({ ok: true }));
    await request(app).post('/things?token=s3cr3t-query').send({ secret: 'b0dy-value' }).expect(201);
    expect(logs.lines).toEqual([{ level: 'info', event: 'request', method: 'POST', path: '/things', status: 201, ms: expect.any(Number) }]);
    expect(logs.text()).not.toMatch(/s3cr3t-query|b0dy-value/);
  });
});
