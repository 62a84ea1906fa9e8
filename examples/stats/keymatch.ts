/** One matched key as its submitters read it. */
export interface KeyMatch {
  key: string;
  messages: { from: string; message: string }[];
}

/** Who submitted one key, each with their message. */
export type KeySubmitters = ReadonlyMap<string, string>;

/** A key matches, and its messages lock, once `quorum` distinct participants submitted it. */
export const isMatched = (submitters: KeySubmitters, quorum: number) => submitters.size >= quorum;

/**
 * What `caller` may read: the matched keys among those it submitted itself, sorted by key, each
 * with every submitter's message, sorted by submitter. Keys below quorum stay invisible, and so do
 * matched keys the caller never submitted.
 */
export function matchesFor(ownKeys: Iterable<string>, keys: ReadonlyMap<string, KeySubmitters>, quorum: number): KeyMatch[] {
  const matches: KeyMatch[] = [];
  for (const key of ownKeys) {
    const submitters = keys.get(key);
    if (!submitters || !isMatched(submitters, quorum)) continue;
    const messages = [...submitters].map(([from, message]) => ({ from, message }));
    messages.sort((a, b) => compare(a.from, b.from));
    matches.push({ key, messages });
  }
  return matches.sort((a, b) => compare(a.key, b.key));
}

// UTF-16 code-unit order, like Array.prototype.sort: stable across locales, unlike localeCompare.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
