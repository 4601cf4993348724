/**
 * A request's span ids, to ask whether a span's parent is among them: 8 bytes a span, for one
 * request and not per trace, since a request may hold tens of thousands of one-span traces; sorted
 * once, when first asked.
 */
export class SpanIdSet {
  private readonly keys: bigint[] = [];
  private sorted: BigUint64Array | undefined;

  add(id: Uint8Array): void {
    this.keys.push(idKey(id));
    this.sorted = undefined;
  }

  has(id: Uint8Array): boolean {
    this.sorted ??= BigUint64Array.from(this.keys).sort();
    return contains(this.sorted, idKey(id));
  }
}

/**
 * A span id as a number, all 8 of its bytes: ids are meant to be random, but a tracer that counts
 * them, or stamps a time in their first bytes, makes ids alike but for their last, and a parent
 * that is not there must never look present (its trace would then have no root in Braintrust).
 * Validation lets through only ids of 8 bytes, or none; a shorter one is read as zeros after it.
 */
function idKey(id: Uint8Array): bigint {
  return (BigInt(word(id, 0)) << 32n) | BigInt(word(id, 4));
}

/** Four bytes from `at`, big-endian, unsigned. */
function word(id: Uint8Array, at: number): number {
  return (((id[at] ?? 0) << 24) | ((id[at + 1] ?? 0) << 16) | ((id[at + 2] ?? 0) << 8) | (id[at + 3] ?? 0)) >>> 0;
}

function contains(sorted: BigUint64Array, key: bigint): boolean {
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
