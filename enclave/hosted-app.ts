/**
 * The app an image serves, named at build time in the supervisor's flags (so it is part of the
 * image's command, and of PCR2): a module whose default export builds a request listener, or a
 * command that serves HTTP on the address in `CLOISTER_LISTEN`. The runtime configuration never
 * chooses code.
 */
export type HostedApp = { kind: 'module'; path: string } | { kind: 'command'; argv: readonly string[] };

/** The app as a person reads it in a log line or an error. */
export function describeHostedApp(app: HostedApp): string {
  return app.kind === 'module' ? `module ${app.path}` : `command ${app.argv.map((arg) => JSON.stringify(arg)).join(' ')}`;
}
