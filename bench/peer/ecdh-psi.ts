import PSI from '@openmined/psi.js';

/**
 * The ECDH-PSI peer of bench/psi.ts: OpenMined's PSI (C++ compiled to WebAssembly), server and
 * client in this one process with nothing between them, revealing the intersection, with the raw
 * encrypted set as the setup message (exact, no false positives). Every step of the protocol is
 * timed, serialisation included; no network, so the figure is the peer's floor.
 */
export async function ecdhPsi(serverItems: readonly string[], clientItems: readonly string[]): Promise<{ ms: number; size: number; version: string }> {
  const psi = await PSI();
  if (!psi.server || !psi.client) throw new Error('this build of @openmined/psi.js lacks the server or the client');
  const started = performance.now();
  const server = psi.server.createWithNewKey(true);
  const client = psi.client.createWithNewKey(true);
  try {
    const setup = psi.serverSetup.deserializeBinary(
      server.createSetupMessage(0, clientItems.length, [...serverItems], psi.dataStructure.Raw).serializeBinary(),
    );
    const request = psi.request.deserializeBinary(client.createRequest([...clientItems]).serializeBinary());
    const response = psi.response.deserializeBinary(server.processRequest(request).serializeBinary());
    const intersection = client.getIntersection(setup, response);
    return { ms: performance.now() - started, size: intersection.length, version: psi.package.version };
  } finally {
    server.delete();
    client.delete();
  }
}
