import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hex } from "../../src/encoding/bytes.js";
import { SpanIdSet } from "../../src/process/span-ids.js";

describe("a request's span ids", () => {
  it("holds an id only when all 8 of its bytes match one added, however many share its first four", () => {
    const ids = new SpanIdSet();
    const id = (last: number) => Uint8Array.from([1, 2, 3, 4, 5, 6, 7, last]);
    ids.add(id(1));
    expect([ids.has(id(1)), ids.has(id(2))]).toEqual([true, false]);
    for (let last = 2; last < 200; last += 2) ids.add(id(last));
    expect(ids.has(id(100))).toBe(true);
    expect(ids.has(id(101))).toBe(false);
    expect(ids.has(Uint8Array.from([1, 2, 3, 5, 5, 6, 7, 1]))).toBe(false);
  });

  it("holds an id differing from one added in any one of its 8 bytes only once it is added itself", () => {
    const added = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let at = 0; at < 8; at++) {
      const ids = new SpanIdSet();
      ids.add(added);
      const other = Uint8Array.from(added, (byte, i) => (i === at ? byte + 100 : byte));
      expect(ids.has(other)).toBe(false);
      ids.add(other);
      expect([ids.has(added), ids.has(other)]).toEqual([true, true]);
    }
  });

  it("answers as a set of the ids' hex would, for any ids", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 40 }),
        fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 40 }),
        (added, asked) => {
          const ids = new SpanIdSet();
          for (const id of added) ids.add(id);
          const expected = new Set(added.map(hex));
          // Ids alike but for a byte, as counting tracers make them.
          const near = added.map((id) => Uint8Array.from(id, (byte, i) => (i === 7 ? byte ^ 1 : byte)));
          for (const id of [...added, ...asked, ...near]) expect(ids.has(id)).toBe(expected.has(hex(id)));
        },
      ),
      { seed: 8, numRuns: 300 },
    );
  });
});
