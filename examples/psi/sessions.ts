import { createHash } from 'node:crypto';
import { type LifecycleLimits, ResourceStore } from '../lifecycle/resource-store';
import { alreadySubmitted, notAParticipant, notAllowedToDelete, sessionExists, sessionNotFound, waitingForParticipants } from './errors';
import type { ItemSet } from './item-set';
import { UploadCollector } from './upload-collector';
import type { NormalizeOptions } from './normalize';
import { intersectionBody } from './result-body';
import { SIGNED_RESULT_BYTES } from '../lifecycle/sign-when-locked';
import type { ResultSigner } from '../../express';

/** Which app signs the results: the `app` of each signed result. */
const APP = 'psi';

/** What a session is created with; fixed for its lifetime. */
export interface SessionSpec {
  id: string;
  participants: string[];
  cardinalityOnly: boolean;
  normalize: NormalizeOptions;
}

/** What a participant learns when its set is committed. */
export interface Receipt {
  /** Distinct items in the set, after normalisation. */
  received: number;
  /** Participants who still have to submit. */
  missing: string[];
}

/**
 * A session's answer with its signed result: only the size for a cardinality-only session, else
 * the whole response body, `{"intersection":[...],"jws":"..."}`. The signed result holds the size
 * and the SHA-256 of `{"intersection":[...]}` (the body without its `jws`), so that anyone given
 * the list and the JWS can check one against the other without the list inside the signature.
 */
export type Outcome = { size: number; jws: string } | { body: Buffer };

/**
 * A participant's set while it uploads. Feed it with `add`; then either `commit` (the body was
 * complete and valid) or `abandon` (anything else), after which the participant may try again.
 */
export interface Upload {
  add(item: string): void;
  commit(): Promise<Receipt>;
  abandon(): void;
}

/**
 * One PSI session and all of its state. The first set committed becomes the candidate
 * intersection; every later upload keeps, while it streams, only the items that are among the
 * candidates as they were when it started (the rest it merely counts), so a session holds about
 * one whole set however many parties take part (two when first uploads overlap). Candidates only
 * ever shrink, so filtering against that snapshot stays correct while other uploads commit: a
 * commit intersects once more with whatever the candidates have become, and replaces them. State
 * changes only on commit, so a failed or aborted upload leaves nothing behind.
 */
export class PsiSession {
  private readonly participants: readonly string[];
  private readonly participantSet: ReadonlySet<string>;
  private readonly submitted = new Set<string>();
  /** Participants whose upload is in progress: a second one is refused, not queued. */
  private readonly uploading = new Set<string>();
  /** The intersection of every committed set; undefined before the first commit and after the last. */
  private candidates: ItemSet | undefined;
  /** Commits run one at a time, each seeing the candidates the previous one left. */
  private commits: Promise<unknown> = Promise.resolve();
  /** Set when the last participant's set is committed. */
  private outcome: Promise<Outcome> | undefined;

  constructor(
    readonly spec: SessionSpec,
    private readonly maxItems: number,
    /** Says how many bytes the session holds now: a 429 when that is more than its creator may hold. */
    private readonly account: (bytes: number, force?: boolean) => void,
    private readonly signer: ResultSigner,
  ) {
    this.participants = spec.participants;
    this.participantSet = new Set(spec.participants);
  }

  isParticipant(name: string): boolean {
    return this.participantSet.has(name);
  }

  /** Whether no participant has committed or is sending a set. */
  untouched(): boolean {
    return this.submitted.size === 0 && this.uploading.size === 0;
  }

  /** Starts `participant`'s upload: 403 for a non-participant, 409 if it submitted or is submitting. */
  beginUpload(participant: string): Upload {
    if (!this.participantSet.has(participant)) throw notAParticipant();
    if (this.submitted.has(participant) || this.uploading.has(participant)) throw alreadySubmitted();
    this.uploading.add(participant);

    const snapshot = this.candidates;
    const collector = new UploadCollector(snapshot, this.maxItems);
    let settled = false;
    return {
      add: (item) => collector.add(item),
      abandon: () => {
        if (settled) return;
        settled = true;
        this.uploading.delete(participant);
      },
      commit: () => {
        if (settled) throw new Error('This upload was already committed or abandoned.');
        settled = true;
        const committed = this.commits.then(async () => {
          try {
            const current = this.candidates;
            const next = current === undefined || current === snapshot ? collector.kept : await collector.kept.intersect(current);
            // Refused (429) before anything changes: the upload is dropped and may be sent again.
            this.account(next.bytes);
            this.candidates = next;
            this.submitted.add(participant);
            if (this.submitted.size === this.participants.length) {
              this.outcome = this.buildOutcome(next);
              // A failure reaches each reader that awaits the outcome (a 500 there), never the process.
              this.outcome.catch(() => {});
            }
            return { received: collector.distinct, missing: this.missing() };
          } finally {
            this.uploading.delete(participant);
          }
        });
        this.commits = committed.catch(() => undefined);
        return committed;
      },
    };
  }

  /**
   * The session's answer for `participant`: 403 for a non-participant, 409 while sets are missing.
   * It is built once, as soon as the last set is committed, and is the same for everyone.
   */
  result(participant: string): Promise<Outcome> {
    if (!this.participantSet.has(participant)) throw notAParticipant();
    if (this.outcome === undefined) throw waitingForParticipants(this.participants.length - this.submitted.size);
    return this.outcome;
  }

  private async buildOutcome(intersection: ItemSet): Promise<Outcome> {
    // No upload can start any more, so only the build below still needs the candidates.
    this.candidates = undefined;
    const claims = { app: APP, resource: this.spec.id, participants: this.participants };
    if (this.spec.cardinalityOnly) {
      this.account(SIGNED_RESULT_BYTES, true);
      const size = intersection.size;
      return { size, jws: await this.signer.sign({ ...claims, result: { size } }) };
    }
    const intersectionJson = await intersectionBody(intersection);
    const intersectionSha256 = createHash('sha256').update(intersectionJson).digest('hex');
    const jws = await this.signer.sign({ ...claims, result: { size: intersection.size, intersectionSha256 } });
    const body = Buffer.concat([intersectionJson.subarray(0, -1), Buffer.from(`,"jws":${JSON.stringify(jws)}}`)]);
    // The result replaces the candidates it was built from, which are larger: never refused.
    this.account(body.length, true);
    return { body };
  }

  private missing(): string[] {
    return this.participants.filter((p) => !this.submitted.has(p));
  }
}

export interface SessionLimits {
  /** How long sessions live, and how many may live, for the app and per creator. */
  lifecycle: LifecycleLimits;
  /** Most distinct items in one participant's set. */
  maxItems: number;
}

/**
 * Every live PSI session of the app, by id. A session expires with everything it holds (sets
 * under way, candidates, result) `lifecycle.ttlMs` after it was created, or when deleted.
 */
export class PsiSessions {
  private readonly sessions: ResourceStore<PsiSession>;

  constructor(
    private readonly limits: SessionLimits,
    private readonly signer: ResultSigner,
  ) {
    this.sessions = new ResourceStore(limits.lifecycle, 'PSI session', 'TOO_MANY_SESSIONS');
  }

  /** 409 if the id is taken; 429 when the app or the creator holds as many live sessions as it may. */
  create(spec: SessionSpec, creator: string): { session: PsiSession; expiresAt: string } {
    if (this.sessions.has(spec.id)) throw sessionExists();
    const session = new PsiSession(spec, this.limits.maxItems, (bytes, force) => this.sessions.resize(spec.id, bytes, force), this.signer);
    this.sessions.add(spec.id, creator, session);
    return { session, expiresAt: new Date(this.sessions.expiresAt(spec.id)!).toISOString() };
  }

  /** 404 for an unknown (or expired, or deleted) id. */
  get(id: string): PsiSession {
    const session = this.sessions.get(id);
    if (!session) throw sessionNotFound();
    return session;
  }

  /**
   * Deletes a session with all it holds: its creator may at any time, a participant only while
   * no set has been sent (so no one can erase a session others have put their data in).
   */
  delete(id: string, caller: string): void {
    const session = this.get(id);
    if (this.sessions.creatorOf(id) !== caller && !(session.isParticipant(caller) && session.untouched())) throw notAllowedToDelete();
    this.sessions.delete(id);
  }
}
