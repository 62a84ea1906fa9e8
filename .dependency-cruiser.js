/*
 * The dependency rules of DESIGN.md ("Folders"), checked by `npm test` (dependency-cruiser):
 * dependencies point one way, from the roles to what they agree on, and never in a cycle.
 */
const FOLDERS = 'contract|attestation|transport|enclave|parent|express|examples|client|image|dev|cli';
const OURS = `^(${FOLDERS})/`;
/** Any of our folders but `allowed`. */
const outside = (...allowed) => `^(?!(${allowed.join('|')})/)(${FOLDERS})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'contract-imports-nothing-of-ours', severity: 'error', from: { path: '^contract/' }, to: { path: outside('contract') } },
    { name: 'attestation-uses-only-contract', severity: 'error', from: { path: '^attestation/' }, to: { path: outside('attestation', 'contract') } },
    { name: 'transport-uses-only-contract', severity: 'error', from: { path: '^transport/' }, to: { path: outside('transport', 'contract') } },
    { name: 'express-uses-only-contract', severity: 'error', from: { path: '^express/' }, to: { path: outside('express', 'contract') } },
    {
      name: 'examples-use-only-express',
      comment: "The example apps are built as a user's app is: on cloister/express alone.",
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: outside('examples', 'express') },
    },
    {
      name: 'enclave-uses-attestation-transport-contract',
      comment: 'The enclave loads the app it hosts by name, never by import.',
      severity: 'error',
      from: { path: '^enclave/' },
      to: { path: outside('enclave', 'attestation', 'transport', 'contract') },
    },
    {
      name: 'parent-uses-transport-contract-attestation',
      severity: 'error',
      from: { path: '^parent/' },
      to: { path: outside('parent', 'transport', 'contract', 'attestation') },
    },
    { name: 'client-uses-attestation-contract', severity: 'error', from: { path: '^client/' }, to: { path: outside('client', 'attestation', 'contract') } },
    { name: 'image-uses-only-contract', severity: 'error', from: { path: '^image/' }, to: { path: outside('image', 'contract') } },
    { name: 'nothing-uses-dev-or-cli', severity: 'error', from: { path: OURS, pathNot: '^(dev|cli)/' }, to: { path: '^(dev|cli)/' } },
    { name: 'no-cycles', severity: 'error', from: { path: OURS }, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|\\.cloister)/' },
    tsPreCompilationDeps: true,
  },
};
