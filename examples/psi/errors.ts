import { badRequest, conflict, forbidden, HttpError, notFound, tooLarge } from '../../express';

// Every message here goes to a client and may be read by an operator: none quotes a submitted item,
// only positions (line, row, index) and configured limits, which are public with the configuration.

export const sessionNotFound = () =>
  notFound('SESSION_NOT_FOUND', 'There is no PSI session with this id (it may have expired or been deleted); create one with POST /psi/sessions.');

export const sessionExists = () => conflict('SESSION_EXISTS', 'A PSI session with this id already exists; choose another id or omit it.');

export const notAllowedToDelete = () =>
  forbidden('NOT_ALLOWED_TO_DELETE', 'Only the creator may delete this session, or a participant while no set has been sent.');

export const notAParticipant = () => forbidden('NOT_A_PARTICIPANT', 'You are not a participant of this PSI session.');

export const alreadySubmitted = () =>
  conflict('ALREADY_SUBMITTED', 'You have already submitted (or are submitting) your set for this session; the first one stands.');

export const waitingForParticipants = (missing: number) =>
  conflict(
    'WAITING_FOR_PARTICIPANTS',
    `${missing} participant${missing === 1 ? ' has' : 's have'} not submitted a set yet; the result is available once everyone has.`,
  );

export const unsupportedSetType = () =>
  new HttpError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'Send the set as application/json (an array of strings), text/plain (one item per line) or text/csv (first column), in UTF-8 and uncompressed.',
  );

export const setTooLarge = (maxItems: number) => tooLarge('SET_TOO_LARGE', `The set has more than ${maxItems} distinct items, the limit of this deployment.`);

export const itemTooLong = (where: string, maxItemBytes: number) =>
  tooLarge('ITEM_TOO_LONG', `The item ${where} is longer than the limit of ${maxItemBytes} bytes (UTF-8).`);

export const uploadTooLarge = (maxUploadBytes: number) =>
  tooLarge('BODY_TOO_LARGE', `The upload is larger than the limit of ${maxUploadBytes} bytes; remove duplicates or extra CSV columns.`);

export const invalidUtf8 = (where: string) => badRequest('INVALID_UTF8', `The item ${where} is not valid UTF-8.`);

export const unpairedSurrogate = (where: string) =>
  badRequest('INVALID_UTF8', `The item ${where} contains an unpaired surrogate escape, which is not valid Unicode.`);

export const malformedJson = (problem: string, offset: number) =>
  badRequest('MALFORMED_JSON', `The body is not a JSON array of strings: ${problem} at byte ${offset}.`);

export const malformedCsv = (problem: string, row: number) => badRequest('MALFORMED_CSV', `The CSV body is malformed: ${problem} in row ${row}.`);

export const bodyAborted = () =>
  badRequest('BODY_ABORTED', 'The request body ended before it was complete; nothing was stored, so you can send the set again.');
