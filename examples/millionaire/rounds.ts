import type Big from 'big.js';
import { type LifecycleLimits, ResourceStore } from '../lifecycle/resource-store';
import { richest } from './richest';
import { type ResultSigner, conflict, forbidden, notFound } from '../../express';
import { SIGNED_RESULT_BYTES, signWhenLocked } from '../lifecycle/sign-when-locked';

/** A round as its creator and participants may see it: never an amount. */
export interface RoundSummary {
  id: string;
  participants: string[];
  /** When the round and its result are forgotten (ISO 8601). */
  expiresAt: string;
}

interface Round {
  readonly participants: readonly string[];
  readonly members: ReadonlySet<string>;
  /** Amounts held only until the last one arrives; dropped as soon as the result is fixed. */
  readonly amounts: Map<string, Big>;
  readonly submitted: Set<string>;
  /** Set once, when the last participant submits; never recomputed, so every reader agrees. */
  result?: RoundOutcome;
}

/** The answer of a round, the same for every participant: who is richest, and the enclave's signature on it. */
export interface RoundOutcome {
  richest: readonly string[];
  /** The signed result (see ResultSigner), made once when the round locked. */
  jws: Promise<string>;
}

/** What a round holds, about: its structure, and per participant a name, an amount and a mark. */
const ROUND_BYTES = 512;
const PARTICIPANT_BYTES = 256;
/** Which app signs the results: the `app` of each signed result. */
const APP = 'millionaire';

/**
 * Every millionaire round of one app instance. Each method runs to completion without awaiting,
 * so simultaneous requests are serialised by the event loop: a participant's first submission is
 * the one that counts, and the result is computed exactly once.
 */
export class Rounds {
  private readonly rounds: ResourceStore<Round>;

  /**
   * Rounds live `limits.ttlMs`, result included; `limits` bound how many live at once.
   * `onExpire` hears the id of each round that expired.
   */
  constructor(
    limits: LifecycleLimits,
    private readonly signer: ResultSigner,
    onExpire?: (id: string) => void,
  ) {
    this.rounds = new ResourceStore(limits, 'round', 'ROUND_LIMIT_REACHED', onExpire);
  }

  /**
   * Opens a round for `creator`. The participants must already be validated (distinct, eligible,
   * at least two). Throws 409 `ROUND_EXISTS` for a taken id and 429 `ROUND_LIMIT_REACHED` when
   * the app or the creator holds as many live rounds as it may.
   */
  create(id: string, participants: readonly string[], creator: string): RoundSummary {
    if (this.rounds.has(id)) {
      throw conflict('ROUND_EXISTS', 'A round with this id already exists; choose another id or omit it to get a fresh one.');
    }
    this.rounds.add(
      id,
      creator,
      { participants: [...participants], members: new Set(participants), amounts: new Map(), submitted: new Set() },
      ROUND_BYTES + participants.length * PARTICIPANT_BYTES + SIGNED_RESULT_BYTES,
    );
    return { id, participants: [...participants], expiresAt: new Date(this.rounds.expiresAt(id)!).toISOString() };
  }

  /**
   * Deletes a round, amounts and result with it: its creator may at any time, a participant only
   * while nobody has submitted (so no one can erase a round others have put their wealth in).
   */
  delete(id: string, caller: string): void {
    const round = this.rounds.get(id);
    if (round === undefined) throw notFound('ROUND_NOT_FOUND', 'There is no round with this id (it may have expired or been deleted).');
    const isCreator = this.rounds.creatorOf(id) === caller;
    if (!isCreator && !(round.members.has(caller) && round.submitted.size === 0)) {
      throw forbidden('NOT_ALLOWED_TO_DELETE', 'Only the creator may delete this round, or a participant while nobody has submitted.');
    }
    this.rounds.delete(id);
  }

  /**
   * Records `name`'s wealth once. Returns how many participants have still to submit; when that
   * reaches zero the result is fixed and the amounts are forgotten.
   */
  submit(id: string, name: string, wealth: Big): { missing: number } {
    const round = this.participantRound(id, name);
    if (round.submitted.has(name)) {
      throw conflict('ALREADY_SUBMITTED', 'You have already submitted your wealth for this round; the first submission stands.');
    }
    round.submitted.add(name);
    round.amounts.set(name, wealth);
    const missing = round.participants.length - round.submitted.size;
    if (missing === 0) {
      const answer = richest(round.amounts);
      round.amounts.clear();
      const claims = { app: APP, resource: id, participants: round.participants, result: { richest: answer } };
      round.result = { richest: answer, jws: signWhenLocked(this.signer, claims) };
    }
    return { missing };
  }

  /** The richest participants and the signed result, once every participant has submitted (409 before that). */
  result(id: string, name: string): RoundOutcome {
    const round = this.participantRound(id, name);
    if (round.result === undefined) {
      const missing = round.participants.length - round.submitted.size;
      throw conflict(
        'WAITING_FOR_PARTICIPANTS',
        `${missing} of ${round.participants.length} participants have not submitted yet; ask again when everyone has.`,
      );
    }
    return round.result;
  }

  private participantRound(id: string, name: string): Round {
    const round = this.rounds.get(id);
    if (!round)
      throw notFound('ROUND_NOT_FOUND', 'There is no round with this id (it may have expired or been deleted); create one with POST /millionaire/rounds.');
    if (!round.members.has(name)) throw forbidden('NOT_A_PARTICIPANT', 'You are not a participant in this round.');
    return round;
  }
}
