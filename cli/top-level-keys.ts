/**
 * The member names of the top-level object of `json`, in order, repeats included: `JSON.parse`
 * keeps the last of two equal names, where a person or another tool may read the first. `json`
 * must be an object that `JSON.parse` accepted, so only strings and nesting need following.
 */
export function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const end = stringEnd(json, i);
      // At the top level, a string followed by a colon is a member's name.
      if (depth === 1 && /^\s*:/.test(json.slice(end + 1, end + 64))) keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      i = end;
    }
  }
  return keys;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(json: string, start: number): number {
  for (let i = start + 1; ; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i;
  }
}
