import { CompactSign, type JWK, type KeyLike, exportJWK, generateKeyPair, importJWK } from 'jose';

/**
 * Signed results (DESIGN.md, "Results you can show to others"): what the enclave signs, and how.
 * A result is a compact JWS by the instance's results key; its protected header carries the public
 * key and the attestation document that binds the key's thumbprint, so a party holding only the
 * JWS can check it offline (client/verify-result.ts).
 */

/** The JWS `typ` of every signed result: a verifier refuses any other JWS the key may sign. */
export const RESULT_JWS_TYPE = 'cloister-result+jws';
/** The one algorithm of results keys: ECDSA on P-384 with SHA-384. */
export const RESULT_JWS_ALGORITHM = 'ES384';
/**
 * The environment variable that hands an app given as a command its results key: the JSON of
 * `ResultsKeyMaterial`. A module gets a ready `ResultSigner` in its context instead.
 */
export const RESULTS_KEY_ENV = 'CLOISTER_RESULTS_KEY';

/** What an app says about a final result; the signer adds the instance and the time. */
export interface ResultClaims {
  /** Which app produced it, e.g. `millionaire`. */
  app: string;
  /** The round, session or computation id. */
  resource: string;
  /** Everyone who took part, by identity name. */
  participants: readonly string[];
  /** The result exactly as the app serves it (JSON). */
  result: unknown;
}

/** The payload of a signed result. */
export interface SignedResultPayload extends ResultClaims {
  v: 1;
  participants: string[];
  /** The instance id (hex, 32 digits) of the enclave that computed it: also in its attestation documents. */
  instance: string;
  /** When the result was locked (ISO 8601). */
  time: string;
}

/** The protected header of a signed result. */
export interface SignedResultHeader {
  alg: typeof RESULT_JWS_ALGORITHM;
  typ: typeof RESULT_JWS_TYPE;
  /** The public results key; its RFC 7638 thumbprint is `results` in the instance's `user_data`. */
  jwk: JWK;
  /** base64url of an attestation document of the instance, made at boot (absent outside an enclave host). */
  attestation?: string;
}

/** Signs final results with the instance's results key. */
export interface ResultSigner {
  /**
   * A compact JWS over the claims, the instance id and the current time. Call it once when a
   * result is locked and serve the same JWS to every reader.
   */
  sign(claims: ResultClaims): Promise<string>;
}

/** What the app host hands an app so that it can sign: the private key, the instance id, the document. */
export interface ResultsKeyMaterial {
  /** The private results key (EC P-384 JWK with `d`). Never log it. */
  privateJwk: JWK;
  /** The instance id, 32 hex digits. */
  instance: string;
  /** base64url of the boot attestation document binding the key, if there is one. */
  attestation?: string;
}

/** A fresh results key: the private half as a JWK to hand to the app host, the public half to bind. */
export async function generateResultsKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair(RESULT_JWS_ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return { privateJwk, publicJwk: publicJwkOf(privateJwk) };
}

/** The public members of an EC JWK: what a signed result's header may show. */
export function publicJwkOf(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * A signer over `material`. Throws a TypeError when the key is no P-384 private key or the
 * instance id is not 32 hex digits, so a broken handover fails at start, not at the first result.
 * `sign` throws a TypeError naming the claim when the claims are of a shape that no verifier
 * accepts, rather than sign a result nobody can check.
 *
 * @example
 * const signer = createResultSigner(JSON.parse(process.env[RESULTS_KEY_ENV]!));
 * const jws = await signer.sign({ app: 'auction', resource: lot.id, participants: bidders, result: { winner } });
 */
export function createResultSigner(material: ResultsKeyMaterial, now: () => Date = () => new Date()): ResultSigner {
  const { privateJwk, instance, attestation } = material;
  if (privateJwk?.kty !== 'EC' || privateJwk.crv !== 'P-384' || typeof privateJwk.d !== 'string') {
    throw new TypeError('The results key must be a private EC P-384 JWK.');
  }
  if (typeof instance !== 'string' || !/^[0-9a-f]{32}$/.test(instance)) throw new TypeError('The instance id must be 32 lower-case hex digits.');
  const header: SignedResultHeader = {
    alg: RESULT_JWS_ALGORITHM,
    typ: RESULT_JWS_TYPE,
    jwk: publicJwkOf(privateJwk),
    ...(attestation !== undefined && { attestation }),
  };
  let key: Promise<KeyLike | Uint8Array> | undefined;
  return {
    async sign(claims) {
      checkClaims(claims);
      key ??= importJWK(privateJwk, RESULT_JWS_ALGORITHM);
      const payload: SignedResultPayload = {
        v: 1,
        app: claims.app,
        resource: claims.resource,
        participants: [...claims.participants],
        result: claims.result,
        instance,
        time: now().toISOString(),
      };
      return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ ...header }).sign(await key);
    },
  };
}

/**
 * Refuses claims whose payload `verifyResult` would always refuse: JSON leaves out a `result`
 * that is undefined, a function or a symbol (and cannot write a bigint), and the other claims
 * have fixed types. Values are never shown: a result may be a secret until it is released.
 */
function checkClaims(claims: ResultClaims): void {
  if (typeof claims !== 'object' || claims === null) throw new TypeError('The claims of a result must be an object: { app, resource, participants, result }.');
  if (typeof claims.app !== 'string') throw new TypeError('The claim "app" must be a string: the name of the app that produced the result.');
  if (typeof claims.resource !== 'string') throw new TypeError('The claim "resource" must be a string: the id of the round, session or computation.');
  if (!Array.isArray(claims.participants) || !claims.participants.every((name) => typeof name === 'string')) {
    throw new TypeError('The claim "participants" must be an array of identity names (strings).');
  }
  const kind = typeof claims.result;
  if (kind === 'undefined' || kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    throw new TypeError(`The claim "result" must be a JSON value, as the app serves it; it is ${kind === 'undefined' ? 'missing' : `a ${kind}`}.`);
  }
}
