import { describe, expect, it } from "vitest";
import { repeatedKey } from "../../src/encoding/json-text.js";
import { placeShown } from "../../src/http/caller-text.js";

describe("repeatedKey: a key JSON.parse would read as its last value alone", () => {
  it.each([
    ['{"a": 1, "a": 2}', ["a"]],
    ['{"a": {"b": [1, {"c": 0, "c": 1}]}}', ["a", "b", "1", "c"]],
    ['[{"x": 1}, {"x": 2}, {"y": 1, "y": 2}]', ["2", "y"]],
    // The same name however it is escaped, as JSON.parse reads it.
    ['{"key": 1, "k\\u0065y": 2}', ["key"]],
    ['{"__proto__": 1, "__proto__": 2}', ["__proto__"]],
    // A string value that looks like a key, quotes and colons in it, is not one.
    ['{"a": "\\"a\\": 1", "b": {"a": ":"}, "b": 0}', ["b"]],
    ['{"a" \n :\t1, "a":2}', ["a"]],
    ['{"": {"": 1, "": 2}}', ["", ""]],
  ])("finds it in %s at %j", (text, place) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(repeatedKey(text)).toEqual(place);
  });

  it.each(['{"a": 1, "b": {"a": 2}}', '[{"a": 1}, {"a": 2}]', '{"a": ["a", "a"], "s": "\\\\", "t": "x"}', '"a"', "[]", "{}"])(
    "finds none in %s",
    (text) => {
      expect(repeatedKey(text)).toBeUndefined();
    },
  );

  it("reads deep nesting in one pass, without recursion", () => {
    const deep = `${'{"a":'.repeat(100_000)}{"b":1,"b":2}${"}".repeat(100_000)}`;
    expect(repeatedKey(deep)).toEqual([...Array(100_000).fill("a"), "b"]);
  });
});

describe("placeShown: a place in the caller's JSON, as a message names it", () => {
  it.each([
    [["routes", "0", "match", "field"], "routes.0.match.field"],
    [["", ""], '"".""'],
    [["a.b", "c d"], '"a.b"."c d"'],
    [["braintrust", `sk-${"k".repeat(300)}`], "braintrust.(a key of 303 characters)"],
    // Shaped as a field's name, but longer than any field's: a key or token, named by its length.
    [["braintrust", `sk-${"k".repeat(40)}`], "braintrust.(a key of 43 characters)"],
    [["keep_source_attributes"], "keep_source_attributes"],
    [[...Array(100_000).fill("a"), "b"], `${"a.".repeat(8)}…(99985 more).${"a.".repeat(7)}b`],
  ])("names %j as %s", (steps, shown) => {
    expect(placeShown(steps)).toBe(shown);
  });
});
