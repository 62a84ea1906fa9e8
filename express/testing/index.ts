/**
 * `cloister/testing`: test an app as the enclave hosts it and as the ingress calls it, with
 * supertest. `hostApp` builds it from a deployment configuration; `serve` gives callers with the
 * identity headers the ingress would set (`as(name, role)`) or none (`anonymous`).
 *
 * @example
 * import { hostApp, serve } from 'cloister/testing';
 * import * as app from '../src/app';
 *
 * const server = await serve(hostApp(app, { users: [{ name: 'alice', role: 'member', key: `sha256:${'a'.repeat(64)}` }] }));
 * await server.as('alice', 'member').get('/hello').expect(200);
 * await server.anonymous.get('/hello').expect(401);
 * await server.close();
 */
export { type HostAppOptions, hostApp } from './host-app';
export { type Caller, type TestServer, serve } from './serve';
export { testResultSigner } from './test-result-signer';
