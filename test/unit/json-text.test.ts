import { describe, expect, it } from "vitest";
import { repeatedKey } from "../../src/encoding/json-text.js";

describe("repeatedKey: a key JSON.parse would read as its last value alone", () => {
  it.each([
    ['{"a": 1, "a": 2}', "a"],
    ['{"a": {"b": [1, {"c": 0, "c": 1}]}}', "a.b.1.c"],
    ['[{"x": 1}, {"x": 2}, {"y": 1, "y": 2}]', "2.y"],
    // The same name however it is escaped, as JSON.parse reads it.
    ['{"key": 1, "k\\u0065y": 2}', "key"],
    ['{"__proto__": 1, "__proto__": 2}', "__proto__"],
    // A string value that looks like a key, quotes and colons in it, is not one.
    ['{"a": "\\"a\\": 1", "b": {"a": ":"}, "b": 0}', "b"],
    ['{"a" \n :\t1, "a":2}', "a"],
    ['{"": {"": 1, "": 2}}', '"".""'],
  ])("finds it in %s at %s", (text, place) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(repeatedKey(text)).toBe(place);
  });

  it.each(['{"a": 1, "b": {"a": 2}}', '[{"a": 1}, {"a": 2}]', '{"a": ["a", "a"], "s": "\\\\", "t": "x"}', '"a"', "[]", "{}"])(
    "finds none in %s",
    (text) => {
      expect(repeatedKey(text)).toBeUndefined();
    },
  );

  it("reads deep nesting in one pass, without recursion", () => {
    const deep = `${'{"a":'.repeat(100_000)}{"b":1,"b":2}${"}".repeat(100_000)}`;
    expect(repeatedKey(deep)).toBe(`${"a.".repeat(100_000)}b`);
  });
});
