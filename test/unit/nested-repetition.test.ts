import { describe, expect, it } from "vitest";
import { repeatsNestedRepetition } from "../../src/tenants/nested-repetition.js";

describe("a pattern repeating a repetition", () => {
  it.each(["(a+)+", "(a*)*", "(\\w+\\s?)+$", "((ab)*c)+", "(?:x+y?)*z", "(?<word>[a-z]+ )+", "(a+|b){2,}", "(a+?)+?", "((a+))+"])(
    "is found in %s",
    (pattern) => {
      expect(repeatsNestedRepetition(pattern)).toBe(true);
    },
  );

  it.each([
    "ACCT-\\d{6}",
    "(\\d{4}[- ]?){3}\\d{4}",
    "(a+)b+",
    "(a|aa)+",
    "\\(a+\\)+",
    "[(a+)]+",
    "(?=a+)b",
    "a{2}(b{3})+",
    "(a?)+",
    "(a+){3}",
    "x{,5}+",
  ])("is not claimed of %s", (pattern) => {
    expect(repeatsNestedRepetition(pattern)).toBe(false);
  });
});
