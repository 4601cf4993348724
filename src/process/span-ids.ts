/**
 * A request's span ids, to ask whether a span's parent is among them, for one request and not per
 * trace, since a request may hold tens of thousands of one-span traces. All 8 bytes count: ids are
 * meant to be random, but a tracer that counts them, or stamps a time in their first bytes, makes
 * ids alike but for their last, and a parent that is not there must never look present (its trace
 * would then have no root in Braintrust). Validation lets through only ids of 8 bytes, or none; a
 * shorter one is read as zeros after it.
 */
export class SpanIdSet {
  /**
   * The ids by their first four bytes, as a number: the last four of the one id with them, or of
   * each, in a set, when ids share them (as a hostile request's may all do: a set keeps each
   * lookup constant, where a list would make the request's work quadratic).
   */
  private readonly byHigh = new Map<number, number | Set<number>>();

  add(id: Uint8Array): void {
    const high = word(id, 0);
    const low = word(id, 4);
    const lows = this.byHigh.get(high);
    if (lows === undefined) this.byHigh.set(high, low);
    else if (typeof lows === "number") {
      if (lows !== low) this.byHigh.set(high, new Set([lows, low]));
    } else lows.add(low);
  }

  has(id: Uint8Array): boolean {
    const lows = this.byHigh.get(word(id, 0));
    const low = word(id, 4);
    return lows === low || (typeof lows === "object" && lows.has(low));
  }
}

/** Four bytes from `at`, big-endian, as an unsigned number. */
function word(id: Uint8Array, at: number): number {
  return (((id[at] ?? 0) << 24) | ((id[at + 1] ?? 0) << 16) | ((id[at + 2] ?? 0) << 8) | (id[at + 3] ?? 0)) >>> 0;
}
