import { readFileSync } from 'node:fs';

/*
 * The supervisor's own AWS credentials, which the SDK's default chain finds in its environment
 * when it asks KMS for the app's secrets. They are not the app's: its environment is built without
 * them, and their values are taken out of its output like its secrets, should it read them some
 * other way (its parent's /proc/PID/environ).
 */

/** Variables whose value is a credential, or the way to one (a container's credentials endpoint). */
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];

/** Variables naming a file whose content is a credential (a web identity or container token). */
const CREDENTIAL_FILE_VARIABLES = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];

/** Variables that choose which of the supervisor's identities the chain takes: no secret, but not the app's either. */
const IDENTITY_VARIABLES = [
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_CREDENTIAL_EXPIRATION',
];

/**
 * Shorter values are no AWS credential (the shortest, an access key id, has 16 characters) but a
 * placeholder such as `test` for a fake KMS, which would take every "test" out of the app's output.
 */
const MIN_CREDENTIAL_CHARS = 8;

/** `env` without the supervisor's credentials: what an app process's environment starts from. */
export function withoutCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const withheld = new Set([...CREDENTIAL_VARIABLES, ...CREDENTIAL_FILE_VARIABLES, ...IDENTITY_VARIABLES]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !withheld.has(name)));
}

/** The values of the supervisor's credentials in `env`, the token files' contents included: for the redactor. */
export function credentialValues(env: NodeJS.ProcessEnv): string[] {
  const values = CREDENTIAL_VARIABLES.map((name) => env[name]);
  for (const name of CREDENTIAL_FILE_VARIABLES) values.push(readToken(env[name]));
  return values.filter((value): value is string => value !== undefined && value.trim().length >= MIN_CREDENTIAL_CHARS);
}

function readToken(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // No token there: the chain will not find one either.
    return undefined;
  }
}
