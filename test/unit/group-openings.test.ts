import { describe, expect, it } from "vitest";
import { unknownGroupOpening } from "../../src/tenants/pattern-syntax.js";

describe("a group opening the pattern checks cannot read", () => {
  it.each([
    ["(?i:a|A)+x", 0],
    ["x(?s:.)+", 1],
    ["(?-i:x)", 0],
    ["((?m:^a))", 1],
    // An escaped backslash escapes nothing after it; a class closed before it hides nothing.
    ["a\\\\(?i:x)", 3],
    ["[a](?i:x)", 3],
    ["(?:a)(?i:b)", 5],
  ])("is found in %s, at %i", (pattern, at) => {
    expect(unknownGroupOpening(pattern)).toBe(at);
  });

  it.each(["(?:a)", "(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "(?<name>a)", "(a)", "[(?i:]x", "\\(?i:x", "[\\](?i:]x", "[a][(?i:]x", "a?"])(
    "is not claimed of %s",
    (pattern) => {
      expect(unknownGroupOpening(pattern)).toBeUndefined();
    },
  );
});
