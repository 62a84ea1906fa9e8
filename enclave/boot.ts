import { rmSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { type Logger, withMinimumLevel } from '../contract/log';
import type { Nsm } from '../attestation/nsm/nsm';
import { type Egress, startEgress } from './egress/egress';
import { startIngress } from './ingress';
import { generateTlsIdentity } from './ingress/tls-identity';
import type { Address } from '../transport/address';
import { prepareAppEndpoint } from './app-address';
import { AppProcess } from './app-process';
import type { HostedApp } from './hosted-app';
import { type LoadedConfig, loadConfigFile } from '../contract/load-config';
import { measureConfig } from './measure-config';
import { createResultsKey } from './results-key';
import { releaseSecrets } from './secrets';

/** What the boot sequence needs; `main.ts` builds it from flags. */
export interface BootOptions {
  nsm: Nsm;
  /** The runtime configuration file (ignored when `config` is given). */
  configPath?: string;
  /** A configuration already loaded and validated (e.g. pushed by the parent: proxy/config-push). */
  config?: LoadedConfig;
  /** Where the ingress listens. */
  ingress: Address;
  /** The app this image serves. */
  app: HostedApp;
  /** Where the app listens (default: a socket in a fresh private directory). */
  appAddress?: Address;
  /** The parent's egress relay (default vsock://3:5001); see proxy/egress. */
  egressRelay?: Address;
  log: Logger;
}

/** A booted enclave: ingress serving, app running under supervision. */
export interface RunningEnclave {
  /** Where the ingress listens (with the actual port when asked for port 0). */
  ingress: Address;
  /** Where the app listens. */
  app: Address;
  /** SHA-384 of the configuration, as bound in every attestation document. */
  configDigest: Buffer;
  /** The locked value of PCR16. */
  pcr16: Buffer;
  /** The 16 random bytes that identify this boot. */
  instanceId: Buffer;
  /**
   * Stops accepting connections, gives requests in flight up to `graceMs` to finish, stops the
   * app and removes the sockets this enclave created.
   */
  close(graceMs: number): Promise<void>;
}

const INSTANCE_ID_BYTES = 16;

/**
 * The boot sequence of DESIGN.md: load and validate the configuration (ConfigError names the bad
 * field); measure it into PCR16 and lock it; create the TLS key inside the enclave; draw the
 * instance id from the NSM; make the results key and the document binding it; start the app as a child process on a private address and wait until
 * it listens; then open the ingress, which forwards to the app only while it is ready. Nothing
 * listens for clients before the configuration is measured and the app is up.
 */
export async function boot(options: BootOptions): Promise<RunningEnclave> {
  // Both checks of what the operator gave come first, so a mistake there changes no NSM state.
  const { config, document, digest } = options.config ?? loadConfigFile(options.configPath ?? '');
  // The configuration's logging policy applies to every line from here on, the app's output included.
  options = { ...options, log: withMinimumLevel(config.logging?.level ?? 'info', options.log) };
  const endpoint = prepareAppEndpoint(options.appAddress);
  // What the app finds in its environment beyond the supervisor's own: filled by the boot steps below.
  const appEnv: Record<string, string> = {};
  let app: AppProcess | undefined;
  let pcr16: Buffer;
  let instanceId: Buffer;
  let ingress: Awaited<ReturnType<typeof startIngress>>;
  let egress: Egress | undefined;
  try {
    pcr16 = await measureConfig(options.nsm, digest);
    // Deny-by-default egress: the app's HTTP(S)_PROXY (and the KMS calls below) go through it.
    egress = await startEgress({ relay: options.egressRelay, outbound: config.outbound ?? [], log: options.log });
    Object.assign(appEnv, egress.env);
    // After PCR16 is locked, so KMS sees this configuration in the documents; before the app starts,
    // so it finds its secrets in its environment. Through the egress proxy when one is set for the app.
    const released = await releaseSecrets(config, options.nsm, options.log, { proxy: appEnv.HTTPS_PROXY });
    Object.assign(appEnv, released);
    const tls = await generateTlsIdentity();
    instanceId = Buffer.from(await options.nsm.getRandom()).subarray(0, INSTANCE_ID_BYTES);
    const results = await createResultsKey(options.nsm, { config: digest, instance: instanceId, tlsSpki: tls.spkiDer });
    // Values the app's output lines never carry out: the released secrets, and the private results
    // key, which a command finds in its environment.
    const secrets = [...Object.values(released), results.material.privateJwk.d!];
    app = new AppProcess({ app: options.app, config: document, address: endpoint.address, log: options.log, env: appEnv, secrets, results: results.material });
    await app.start();
    const running = app;
    ingress = await startIngress({
      listen: options.ingress,
      app: app.address,
      tls: { keyPem: tls.keyPem, certPem: tls.certPem },
      nsm: options.nsm,
      binding: { config: digest, instance: instanceId, results: results.thumbprint },
      // Canonical JSON: the bytes whose SHA-384 is the digest, so a client can check it directly.
      configJson: canonicalize(document)!,
      users: config.users,
      enclaves: config.enclaves ?? [],
      isAppReady: () => running.ready,
      log: options.log,
      requests: config.logging?.requests,
    });
  } catch (e) {
    await app?.stop();
    await egress?.close();
    endpoint.remove();
    throw e;
  }

  const listening = ingress.address;
  const hosted = app;
  return {
    ingress: listening,
    app: hosted.address,
    configDigest: digest,
    pcr16,
    instanceId,
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([ingress.close(), graceOver]);
      clearTimeout(timer);
      await hosted.stop();
      await egress?.close();
      endpoint.remove();
      if (listening.kind === 'unix') rmSync(listening.path, { force: true });
    },
  };
}
