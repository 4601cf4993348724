import { describe, expect, it } from "vitest";
import { leadingRunAtom } from "../../src/tenants/pattern-atoms.js";

describe("a pattern starting with one character's unbounded repetition, searched from its runs' starts", () => {
  it.each([
    ["[\\w.+-]+@acme\\.com", "[\\w.+-]"],
    ["\\d+ ?USD", "\\d"],
    ["\\S+@corp", "\\S"],
    [".*secret", "."],
    ["a*?b", "a"],
    ["x{2,}y", "x"],
    ["\\.+z", "\\."],
    ["[^]+x", "[^]"],
    ["\\d+(a|b)", "\\d"],
    ["([\\w.+-]+)@acme\\.com", "[\\w.+-]"],
    ["(?:\\d+)x", "\\d"],
    ["(?<user>\\w+?)@x", "\\w"],
  ])("is read in %s as a run of %s", (source, atom) => {
    expect(leadingRunAtom(source)).toBe(atom);
  });

  it.each([
    ["a+x|b", "an alternative beside it"],
    ["(?:ab)+x", "a group"],
    ["(a)+x", "a capture group"],
    ["(a+)+x", "a group of the run, itself repeated"],
    ["(a+b)x", "a group of more than the run"],
    ["(?=a+)x", "a lookahead"],
    ["(?<=a+)x", "a lookbehind"],
    ["-?\\d+x", "an optional sign first"],
    ["(a+)b\\1", "a capture referred back to"],
    ["(?<v>x+)=\\k<v>", "a named capture referred back to"],
    ["\\b\\w+x", "an assertion first"],
    ["^a+x", "an anchor first"],
    ["a{2,5}x", "a bounded repetition"],
    ["a?x", "at most one"],
    ["ax", "no repetition"],
    ["\\cJ+x", "a control escape"],
    ["\\x41+x", "a hex escape"],
    ["[^]]+x", "a class of every character, then `]` repeated"],
    ["", "nothing"],
  ])("is not read in %s (%s): searched as written", (source) => {
    expect(leadingRunAtom(source)).toBeUndefined();
  });
});
