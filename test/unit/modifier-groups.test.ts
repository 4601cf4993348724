import { describe, expect, it } from "vitest";
import { splitsRunsAmongRepetitions } from "../../src/tenants/adjacent-runs.js";
import { modifiersSpelledOut } from "../../src/tenants/modifier-groups.js";
import { slowRepetitionIn } from "../../src/tenants/nested-repetition.js";

describe("a pattern's modifier groups, as the checks read them", () => {
  it.each([
    ["(?i:a|A)+x", "(?:[\\x41\\x61]|[\\x41\\x61])+x"],
    ["(?i:[a-c]1)", "(?:[\\x41\\x42\\x43\\x61\\x62\\x63]1)"],
    ["x(?s:.)+", "x(?:[\\s\\S])+"],
    // Flags hold in the groups inside, until one removes them.
    ["(?i:(b)(?-i:c))", "(?:([\\x42\\x62])(?:c))"],
    ["(?is:(?-s:.).)", "(?:(?:.)[\\s\\S])"],
    ["(?m:^a$)", "(?:^a$)"],
    ["(?s:a.)Z.", "(?:a[\\s\\S])Z."],
    ["(?i:Z)", "(?:[\\x5a\\x7a])"],
    // Quantifiers, escapes of no letter, assertions and back references stay as written.
    ["(?i:\\d{2,3}\\b\\.)", "(?:\\d{2,3}\\b\\.)"],
    ["(a)(?i:\\1)", "(a)(?:\\1)"],
    // Past ASCII, one character stands for all of them already.
    ["(?i:é)", "(?:é)"],
    // No modifier group: the pattern as it is, a `(` in a class or escaped too.
    ["[(?i:]a|\\(?i:b", "[(?i:]a|\\(?i:b"],
    ["(?<n>a)(?=b)(?<!c)", "(?<n>a)(?=b)(?<!c)"],
  ])("reads %s as %s", (pattern, spelled) => {
    expect(modifiersSpelledOut(pattern)).toBe(spelled);
    expect(() => new RegExp(spelled)).not.toThrow();
  });

  it("reads a class past ASCII under `i` as a class of every character it may take", () => {
    expect(modifiersSpelledOut("(?i:[^a])")).toMatch(/^\(\?:\[(?:\\x[0-9a-f]{2}){128}\\u0080-\\uffff\]\)$/);
  });

  it.each([
    // A character twice under `i`, or a line break twice under `s`: exponential on text that almost matches.
    ["(?i:a|A)+x", "overlapping"],
    ["(?s:.|\\n)+x", "overlapping"],
    ["(?i:(?:ab|AB)+)x", "overlapping"],
  ])("finds %s slow (%s)", (pattern, slow) => {
    expect(slowRepetitionIn(modifiersSpelledOut(pattern))).toBe(slow);
  });

  it("finds a split run under `i` that the letters' own case would keep apart", () => {
    expect(splitsRunsAmongRepetitions("[a-z]+[A-Z]+x")).toBe(false);
    expect(splitsRunsAmongRepetitions(modifiersSpelledOut("(?i:[a-z]+[A-Z]+x)"))).toBe(true);
  });

  it.each(["(?i:password)\\s*[:=]\\s*\\S+", "(?i:bearer) [\\w.~+/-]+=*", "(?i:api[_-]?key)=[^&\\s]+", "(?-i:x)y", "token=(?s:.)+;"])(
    "finds %s neither slow nor splitting runs",
    (pattern) => {
      const readable = modifiersSpelledOut(pattern);
      expect(slowRepetitionIn(readable)).toBeUndefined();
      expect(splitsRunsAmongRepetitions(readable)).toBe(false);
    },
  );
});
