import { NsmError } from '../../../attestation/nsm/nsm';

/** Expects `f` to throw an NsmError with this code (and nothing else); returns it. */
export function refuses(f: () => unknown, code: string): NsmError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NsmError);
  expect((caught as NsmError).code).toBe(code);
  return caught as NsmError;
}

/** Expects `promise` to reject with an NsmError with this code (and nothing else); returns it. */
export async function rejects(promise: Promise<unknown>, code: string): Promise<NsmError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NsmError);
  expect((caught as NsmError).code).toBe(code);
  return caught as NsmError;
}
