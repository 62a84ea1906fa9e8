import { type LifecycleLimits, ResourceStore } from '../lifecycle/resource-store';
import type Big from 'big.js';
import { type AggregateResult, aggregateDecimals, countTrue } from './aggregate';
import { type KeyMatch, isMatched, matchesFor } from './keymatch';
import type { ComputationType, DecimalType } from './schemas';
import { conflict, forbidden, notFound } from '../../express';

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
  private locked: AggregateResult | undefined;

  constructor(readonly spec: ComputationSpec) {}

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
      this.locked = this.reduce(this.values);
      // The result is all anyone may learn from here on; the inputs need not outlive it.
      this.values.clear();
    }
    return { submissions: this.submitters.size, closed };
  }

  /** The locked result, or 409 WAITING_FOR_QUORUM saying how many submissions are missing. */
  result(): AggregateResult {
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
    private readonly type: DecimalType,
  ) {
    super(spec);
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
  /** About what the keys and messages hold in memory. */
  private bytes = 0;

  constructor(
    readonly spec: ComputationSpec,
    readonly maxKeys: number,
    /** Says how many bytes the computation holds now: a 429 when that is more than its creator may hold. */
    private readonly account: (bytes: number) => void = () => {},
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
    const bytes = this.bytes + (key.length + message.length + caller.length) * 2 + KEY_OVERHEAD_BYTES;
    this.account(bytes);
    this.bytes = bytes;
    submitters.set(caller, message);
    own.push(key);
    this.keys.set(key, submitters);
    this.keysOf.set(caller, own);
    return { matched: isMatched(submitters, this.spec.quorum), keysSubmitted: own.length };
  }

  /** The matched keys the caller submitted, with their messages (see matchesFor). */
  result(caller: string): KeyMatch[] {
    return matchesFor(this.keysOf.get(caller) ?? [], this.keys, this.spec.quorum);
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

  constructor(private readonly limits: StoreLimits) {
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
        ? new KeymatchComputation(spec, this.limits.maxKeysPerParticipant, (bytes) => this.byName.resize(spec.name, bytes))
        : spec.type === 'count'
          ? new CountComputation(spec)
          : new DecimalComputation(spec, spec.type);
    this.byName.add(spec.name, creator, computation);
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
