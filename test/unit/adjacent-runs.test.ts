import { describe, expect, it } from "vitest";
import { splitsRunsAmongRepetitions } from "../../src/tenants/adjacent-runs.js";

describe("a pattern splitting one run among repetitions before more of it", () => {
  it.each([
    "\\d+\\d+x",
    "\\d+\\d+\\d+x",
    "\\d+-?\\d+-?\\d+ ?x",
    // An optional repetition of other characters between them may match nothing.
    "\\w+\\s*\\w+x",
    "[a-z]+[a-f]*[0-9]+[x-z]+@",
    ".*.*=",
    "\\d+\\d+$",
    "\\w+\\w+\\b",
    "\\d{1,100}\\d+x",
    // A group repeated long reads as every character in it.
    "(\\d)+\\d+x",
    "\\d+(?:a|1)+x",
    // A group is read in its place, a capture as any other, with what follows it.
    "(\\d+)(\\d+)x",
    "\\d+(\\d+)x",
    "(?:\\d+)\\d+x",
    "(?:\\d+)?\\d+x",
    "(?<a>\\w+)\\s*(?<b>\\w+)x",
    "(\\d+\\d+)x",
    "(?:y|\\d+\\d+)x",
    "(?:\\d+|y)\\d+x",
    "\\d+\\d+(?=x)",
    // Class members: ranges, escapes, hex.
    "[\\x30-\\x39]+\\d+x",
    "[^a]+[b]+c",
  ])("is found in %s", (pattern) => {
    expect(splitsRunsAmongRepetitions(pattern)).toBe(true);
  });

  it.each([
    // One long repetition per run: each character has one place.
    "\\d+x",
    "\\d+\\.\\d+",
    "[\\w.+-]+@[\\w-]+\\.[\\w.]+",
    "Bearer\\s+[\\w.-]+",
    "\\s*\\w+=",
    "[a-z]+[0-9]+x",
    ".*secret.*",
    "sk-[A-Za-z0-9]{20,}",
    "\\b\\d{3}[-.]?\\d{3}[-.]?\\d{4}\\b",
    // A split run that ends the pattern takes the first split that comes.
    "\\d+\\d+\\d+",
    "x\\w+\\s*\\w+",
    // Bounded repetitions have few splits.
    "\\d{1,64}\\d{1,64}x",
    // Characters the other repetition cannot take.
    "[^0-9]+\\d+x",
    "[a\\-z]+[0-9]+x",
    "\\x41+\\d+x",
    // Alternatives are runs of their own.
    "\\d+|\\d+x",
    // A lookahead matches no characters.
    "(?=\\d+)\\w+x",
    // A split run that ends the pattern inside a group, or one alternative of it.
    "(\\d+\\d+)",
    "(?:\\d+\\d+|y)",
    // Groups kept apart by a character the runs cannot take.
    "(\\d+)\\.(\\d+)x",
  ])("is not claimed of %s", (pattern) => {
    expect(splitsRunsAmongRepetitions(pattern)).toBe(false);
  });
});
