import { AWS_NITRO_ROOT_G1_SHA256, AttestationError, rootFromPem } from '../attestation';
import { type ClientPolicy, loadPolicy } from '../client';
import { MAX_FILE_BYTES } from '../client/policy';
import { readBounded } from '../contract/read-bounded';
import { UsageError } from './usage-error';

/** Where `cloister dev` keeps the development root a plain `--dev` trusts. */
export const LOCAL_DEV_ROOT = '.cloister/dev/root/cert.pem';

/** The `--dev [ROOT]` option of `attest` and `call`. */
export const DEV_OPTION = [
  '--dev [root]',
  `for a policy trusting the AWS root, trust the development root instead (default ${LOCAL_DEV_ROOT}, from cloister dev)`,
] as const;

/**
 * Loads `--policy FILE` for `attest` and `call`. The policy file is the caller's trust decision:
 * the root it names is the root trusted, AWS's or a development one. A development root is
 * trusted only when asked for, by naming it in the policy or with `--dev`, which lets a policy
 * written for production run against the local stack without editing it.
 */
export function loadClientPolicy(path: string, dev: boolean | string | undefined): ClientPolicy {
  let policy: ClientPolicy;
  try {
    policy = loadPolicy(path);
  } catch (e) {
    if (e instanceof AttestationError) throw new UsageError(e.message);
    throw e;
  }
  if (dev === undefined || policy.root.sha256 !== AWS_NITRO_ROOT_G1_SHA256) return policy;
  const rootPath = typeof dev === 'string' ? dev : LOCAL_DEV_ROOT;
  let pem: string;
  try {
    pem = readBounded(rootPath, MAX_FILE_BYTES).toString('utf8');
  } catch (e) {
    throw new UsageError(`--dev: cannot read the development root ${rootPath} (${(e as Error).message}); run cloister dev first, or name the root.`);
  }
  try {
    return { ...policy, root: rootFromPem(pem) };
  } catch (e) {
    throw new UsageError(`--dev: ${rootPath} is not a PEM certificate: ${(e as Error).message}`);
  }
}
