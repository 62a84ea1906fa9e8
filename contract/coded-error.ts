/**
 * The shape of every error this library throws: a stable machine code to match on, a sentence a
 * person can act on, and the underlying failure as `cause` when there is one.
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
