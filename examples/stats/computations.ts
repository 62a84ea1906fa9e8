import { type LifecycleLimits, ResourceStore } from '../lifecycle/resource-store';
import type Big from 'big.js';
import { type AggregateResult, aggregateDecimals, countTrue } from './aggregate';
import { type KeyMatch, isMatched, matchesFor } from './keymatch';
import type { ComputationType, DecimalType } from './schemas';
import { type ResultSigner, conflict, forbidden, notFound } from '../../express';
import { SIGNED_RESULT_BYTES, signWhenLocked } from '../lifecycle/sign-when-locked';

/** Which app signs the results: the `app` of each signed result. */
const APP = 'stats';

/** A computation as its creator defined it. */
export interface ComputationSpec {
  name: string;
  type: ComputationType;
  participants: string[];
  quorum: number;
}

/** Bounds on what the store holds, so that no caller can exhaust the enclave's memory. */
export interface StoreLimits {
  /** How long computations live, and how many may live, for the app and per creator. */
  lifecycle: LifecycleLimits;
  /** Keys one participant may submit to one keymatch computation. */
  maxKeysPerParticipant: number;
}

/**
 * A computation where each participant submits one value, and the result is computed the moment
 * `quorum` participants have. From then on the result is locked and later submissions are
 * refused, so every participant reads the same answer and nothing accepted is left out of it.
 */
abstract class AggregateComputation<V> {
  private readonly values = new Map<string, V>();
  private readonly submitters = new Set<string>();
  private locked: { result: AggregateResult; jws: Promise<string> } | undefined;

  constructor(
    readonly spec: ComputationSpec,
    private readonly signer: ResultSigner,
  ) {}

  protected abstract reduce(values: ReadonlyMap<string, V>): AggregateResult;

  /** Whether nobody has submitted yet. */
  untouched(): boolean {
    return this.submitters.size === 0;
  }

  /** Accepts the caller's one value; `closed` is true when it completed the quorum. */
  submit(caller: string, value: V): { submissions: number; closed: boolean } {
    if (this.submitters.has(caller)) {
      throw conflict('ALREADY_SUBMITTED', 'You have already submitted to this computation; your first submission stands.');
    }
    if (this.locked !== undefined) {
      throw conflict(
        'COMPUTATION_CLOSED',
        `This computation reached its quorum of ${this.spec.quorum} and its result is locked; it accepts no more submissions.`,
      );
    }
    this.submitters.add(caller);
    this.values.set(caller, value);
    const closed = this.values.size === this.spec.quorum;
    if (closed) {
      const result = this.reduce(this.values);
      // The result is all anyone may learn from here on; the inputs need not outlive it.
      this.values.clear();
      // Whose values it is made of, in the order the computation lists its participants.
      const participants = this.spec.participants.filter((name) => this.submitters.has(name));
      this.locked = { result, jws: signWhenLocked(this.signer, { app: APP, resource: this.spec.name, participants, result }) };
    }
    return { submissions: this.submitters.size, closed };
  }

  /** The locked result and its signature, or 409 WAITING_FOR_QUORUM saying how many submissions are missing. */
  result(): { result: AggregateResult; jws: Promise<string> } {
    if (this.locked === undefined) {
      const missing = this.spec.quorum - this.submitters.size;
      throw conflict(
        'WAITING_FOR_QUORUM',
        `The result appears once ${this.spec.quorum} participants have submitted; ${missing} more submission${missing === 1 ? ' is' : 's are'} needed.`,
      );
    }
    return this.locked;
  }
}

/** sum, mean, median, min or max over one decimal per participant. */
export class DecimalComputation extends AggregateComputation<Big> {
  constructor(
    spec: ComputationSpec,
    signer: ResultSigner,
    private readonly type: DecimalType,
  ) {
    super(spec, signer);
  }

  protected reduce(values: ReadonlyMap<string, Big>): AggregateResult {
    return aggregateDecimals(this.type, values);
  }
}

/** How many participants submitted `true`. */
export class CountComputation extends AggregateComputation<boolean> {
  protected reduce(values: ReadonlyMap<string, boolean>): AggregateResult {
    return countTrue(values);
  }
}

/**
 * Participants submit keys, each with a message. A key matches once `quorum` distinct participants
 * submitted it; its messages are then locked and readable by exactly those participants.
 */
export class KeymatchComputation {
  /** key → submitter → message. */
  private readonly keys = new Map<string, Map<string, string>>();
  /** participant → the keys it submitted, for its result and its limit. */
  private readonly keysOf = new Map<string, string[]>();
  /** The signed result of each matched key, made when it matched. */
  private readonly signed = new Map<string, Promise<string>>();
  /** About what the keys, messages and signed results hold in memory. */
  private bytes = 0;

  constructor(
    readonly spec: ComputationSpec,
    readonly maxKeys: number,
    /** Says how many bytes the computation holds now: a 429 when that is more than its creator may hold. */
    private readonly account: (bytes: number) => void,
    private readonly signer: ResultSigner,
  ) {}

  /** Whether nobody has submitted a key yet. */
  untouched(): boolean {
    return this.keysOf.size === 0;
  }

  /** Accepts one key from the caller; `matched` is true once the key has reached the quorum. */
  submit(caller: string, key: string, message: string): { matched: boolean; keysSubmitted: number } {
    const submitters = this.keys.get(key) ?? new Map<string, string>();
    const own = this.keysOf.get(caller) ?? [];
    if (submitters.has(caller)) {
      throw conflict('KEY_ALREADY_SUBMITTED', 'You have already submitted this key; your first message stands.');
    }
    if (own.length >= this.maxKeys) {
      throw conflict('KEY_LIMIT_REACHED', `You have submitted ${this.maxKeys} keys, the most one participant may submit to a computation.`);
    }
    if (isMatched(submitters, this.spec.quorum)) {
      throw conflict('KEY_CLOSED', `This key was already submitted by ${this.spec.quorum} participants; its messages are locked and it accepts no more.`);
    }
    // Refused (429) before anything changes when the creator's computations would hold too much.
    const completes = submitters.size + 1 >= this.spec.quorum;
    const bytes = this.bytes + (key.length + message.length + caller.length) * 2 + KEY_OVERHEAD_BYTES + (completes ? SIGNED_RESULT_BYTES : 0);
    this.account(bytes);
    this.bytes = bytes;
    submitters.set(caller, message);
    own.push(key);
    this.keys.set(key, submitters);
    this.keysOf.set(caller, own);
    if (completes) this.signMatch(key);
    return { matched: isMatched(submitters, this.spec.quorum), keysSubmitted: own.length };
  }

  /** The matched keys the caller submitted, with their messages (see matchesFor) and each one's signed result. */
  async result(caller: string): Promise<(KeyMatch & { jws: string })[]> {
    const matches = matchesFor(this.keysOf.get(caller) ?? [], this.keys, this.spec.quorum);
    return Promise.all(matches.map(async (match) => ({ ...match, jws: await this.signed.get(match.key)! })));
  }

  /** A matched key's messages are locked: its release is signed once, for every submitter to read. */
  private signMatch(key: string): void {
    const [match] = matchesFor([key], this.keys, this.spec.quorum);
    const participants = match!.messages.map(({ from }) => from);
    this.signed.set(key, signWhenLocked(this.signer, { app: APP, resource: this.spec.name, participants, result: match }));
  }
}

/** What a submitted key costs beyond its characters: map entries and list slots. */
const KEY_OVERHEAD_BYTES = 128;

/** Any computation the store holds. */
export type Computation = DecimalComputation | CountComputation | KeymatchComputation;

/**
 * Every computation of the stats app, by name: the one place its state lives. All methods run
 * synchronously, so concurrent requests apply one after another and never interleave.
 */
export class Computations {
  private readonly byName: ResourceStore<Computation>;

  constructor(
    private readonly limits: StoreLimits,
    private readonly signer: ResultSigner,
  ) {
    this.byName = new ResourceStore(limits.lifecycle, 'computation', 'COMPUTATION_LIMIT_REACHED');
  }

  /**
   * Creates a computation: 409 COMPUTATION_EXISTS for a taken name, 429 COMPUTATION_LIMIT_REACHED
   * when the app or the creator holds as many live computations as it may.
   */
  create(spec: ComputationSpec, creator: string): { computation: Computation; expiresAt: string } {
    if (this.byName.has(spec.name)) {
      throw conflict('COMPUTATION_EXISTS', 'A computation with this name exists already; choose another name.');
    }
    const computation =
      spec.type === 'keymatch'
        ? new KeymatchComputation(spec, this.limits.maxKeysPerParticipant, (bytes) => this.byName.resize(spec.name, bytes), this.signer)
        : spec.type === 'count'
          ? new CountComputation(spec, this.signer)
          : new DecimalComputation(spec, this.signer, spec.type);
    this.byName.add(spec.name, creator, computation, spec.type === 'keymatch' ? 0 : SIGNED_RESULT_BYTES);
    return { computation, expiresAt: new Date(this.byName.expiresAt(spec.name)!).toISOString() };
  }

  /**
   * Deletes a computation with its submissions and result: its creator may at any time, a
   * participant only while nobody has submitted.
   */
  delete(name: string, caller: string): void {
    const computation = this.byName.get(name);
    if (!computation) throw computationNotFound();
    const participantBeforeAnyone = computation.spec.participants.includes(caller) && computation.untouched();
    if (this.byName.creatorOf(name) !== caller && !participantBeforeAnyone) {
      throw forbidden('NOT_ALLOWED_TO_DELETE', 'Only the creator may delete this computation, or a participant while nobody has submitted.');
    }
    this.byName.delete(name);
  }

  /** The computation named `name`, for one of its participants: 404 if unknown, 403 for anyone else. */
  find(name: string, caller: string): Computation {
    const computation = this.byName.get(name);
    if (!computation) throw computationNotFound();
    if (!computation.spec.participants.includes(caller)) {
      throw forbidden('NOT_A_PARTICIPANT', 'Only the participants of this computation may submit to it or read its result.');
    }
    return computation;
  }
}

const computationNotFound = () =>
  notFound('COMPUTATION_NOT_FOUND', 'There is no computation with this name (it may have expired or been deleted); create it with POST /stats/computations.');
