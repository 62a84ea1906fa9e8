import { type AppContext } from '../express';

/**
 * Who may take part in an example app: configured callers holding the app's role, or every
 * configured caller when the app names no role.
 */
export function eligibleParticipants(context: AppContext, role: string | undefined): string[] {
  return context.callers.filter((caller) => role === undefined || caller.role === role).map(({ name }) => name);
}
