import { Pacer } from './cooperative';

const RUN = 4096;
const BATCH = 4096;

/**
 * The JSON body `{"intersection": [...]}` for a final intersection, items in ascending UTF-16
 * code-unit order (JavaScript's default string order) so the answer shows nothing of the order in
 * which any party sent its items. Built in slices with pauses, because sorting and serialising a
 * few hundred thousand strings in one go would hold the event loop for a noticeable time.
 */
export async function intersectionBody(items: Iterable<string>): Promise<Buffer> {
  const pacer = new Pacer();
  // One copy, which sorting then uses as scratch space: about 5 ms for half a million items.
  const array = Array.from(items);
  const sorted = await sortStrings(array, pacer);
  const parts: Buffer[] = [Buffer.from('{"intersection":[')];
  for (let i = 0; i < sorted.length; i += BATCH) {
    const json = JSON.stringify(sorted.slice(i, i + BATCH));
    parts.push(Buffer.from((i === 0 ? '' : ',') + json.slice(1, -1)));
    if (pacer.due(BATCH)) await pacer.pause();
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}

/**
 * Sorts distinct strings: short runs with the native sort, then bottom-up merges, pausing whenever
 * the pacer says so. Returns a sorted array (the input array is reused as scratch space).
 */
export async function sortStrings(items: string[], pacer: Pacer = new Pacer()): Promise<string[]> {
  const n = items.length;
  for (let start = 0; start < n; start += RUN) {
    const run = items.slice(start, start + RUN).sort();
    for (let k = 0; k < run.length; k++) items[start + k] = run[k]!;
    if (pacer.due(RUN)) await pacer.pause();
  }
  let source = items;
  let target: string[] = new Array<string>(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let low = 0; low < n; low += 2 * width) {
      const middle = Math.min(low + width, n);
      const high = Math.min(low + 2 * width, n);
      let i = low;
      let j = middle;
      let k = low;
      while (i < middle && j < high) {
        target[k++] = source[i]! < source[j]! ? source[i++]! : source[j++]!;
        if (pacer.due()) await pacer.pause();
      }
      while (i < middle) target[k++] = source[i++]!;
      while (j < high) target[k++] = source[j++]!;
    }
    [source, target] = [target, source];
  }
  return source;
}
