/**
 * Whether `value` (parsed JSON) has containers nested more than `limit` deep. Measured without
 * recursion, since the value may be nested deeper than any stack: `JSON.parse` reads such a value,
 * but `JSON.stringify` overflows the stack writing it back.
 *
 * @example
 * nestedDeeperThan([[1]], 1); // true
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const pending: [object, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}
