import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ConfigError, createApp } from './index';

/**
 * `npm start` until the attested stack exists: serves the apps on loopback over plain HTTP. There
 * is no ingress here, so any local process can claim any identity with the two headers; the
 * banner says so, and the server never binds anything but 127.0.0.1.
 */
function main(): void {
  const configPath = process.env.CLOISTER_CONFIG ?? 'examples/cloister.config.json';
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`PORT must be a TCP port number; got "${process.env.PORT}".`);

  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    fail(`Cannot read the configuration ${configPath}: ${(e as Error).message}. Set CLOISTER_CONFIG to a JSON file.`);
  }
  let app;
  try {
    app = createApp(config);
  } catch (e) {
    fail(e instanceof ConfigError ? `${configPath}: ${e.message}` : String(e));
  }

  const server = createServer(app);
  server.on('error', (e) => fail(`Cannot listen on 127.0.0.1:${port}: ${e.message}. Set PORT to a free port.`));
  server.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.stderr.write(
      [
        `Cloister apps on ${url} (config: ${configPath})`,
        '',
        'PLAIN HTTP ON LOOPBACK, NO INGRESS, NO ATTESTATION: identities are whatever the caller puts in',
        'X-OBLV-User-Name / X-OBLV-User-Role. For development only; the attested stack replaces this.',
        '',
        'Try:',
        `  curl -s ${url}/hello -H 'X-OBLV-User-Name: alice' -H 'X-OBLV-User-Role: member'`,
        `  curl -s ${url}/openapi.json`,
        '',
      ].join('\n'),
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function fail(message: string): never {
  process.stderr.write(`cloister: ${message}\n`);
  process.exit(2);
}

main();
