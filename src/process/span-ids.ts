/**
 * A request's span ids, to ask whether a span's parent is among them: 8 bytes a span, for one
 * request and not per trace, since a request may hold tens of thousands of one-span traces; sorted
 * once, when first asked.
 */
export class SpanIdSet {
  private readonly keys: number[] = [];
  private sorted: Float64Array | undefined;

  add(id: Uint8Array): void {
    this.keys.push(idKey(id));
    this.sorted = undefined;
  }

  has(id: Uint8Array): boolean {
    this.sorted ??= Float64Array.from(this.keys).sort();
    return contains(this.sorted, idKey(id));
  }
}

/**
 * A span id as a number: its first 6 bytes, exact in a double. Ids are random, so two spans of one
 * request sharing 48 bits is not worth the memory of telling them apart: it could only make a
 * parent that is not there look present.
 */
function idKey(id: Uint8Array): number {
  let key = 0;
  for (let i = 0; i < 6; i++) key = key * 256 + (id[i] ?? 0);
  return key;
}

function contains(sorted: Float64Array, key: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = sorted[middle]!;
    if (value === key) return true;
    if (value < key) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}
