import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The shared test data, copied into tests/fixtures (see its README for where it came from). */
export const TESTDATA = join(__dirname, '..', 'fixtures');

export const readTestdata = (...parts: string[]) => readFileSync(join(TESTDATA, ...parts));

/** The real NSM documents of ../shared/testdata/nitro, with the facts its README documents. */
export const REAL_DOCUMENTS = [
  {
    file: 'prod-2022-10-13.cose',
    timestamp: 1665651482136,
    debug: false,
    pcr0: 'f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b',
    pcr1: 'bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f',
    pcr2: 'd8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a',
    moduleId: 'i-020b6af9246d90e92-enc0183d09086c24190',
    sizes: { publicKey: null, userData: null, nonce: 256 },
  },
  {
    file: 'prod-2022-09-15-high-s.cose',
    timestamp: 1663263808848,
    debug: false,
    pcr0: 'ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c',
    pcr1: 'bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f',
    pcr2: '1c8bc2d84761b0da2777d07d889792540966f88930417c214659ec2f2996534e7894b98bf46e5bc83263825e3ce307b8',
    sizes: { publicKey: 32, userData: 250, nonce: 12 },
  },
  {
    file: 'prod-2026-02-02-indefinite-map.cose',
    timestamp: 1770065027502,
    debug: false,
    pcr0: '9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff',
    pcr1: '4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493',
    pcr2: '769925c8ae0c5c2d1aa86de149213b1c5dec642557bf0c426c6581f0e562a042d1c7d2578443515d103f74ce55337666',
    sizes: { publicKey: 5, userData: 68, nonce: 20 },
  },
  { file: 'debug-2022-10-12.cose', timestamp: 1665582606081, debug: true },
  { file: 'debug-2023-09-18-high-s.cose', timestamp: 1695049410860, debug: true },
] as const;
