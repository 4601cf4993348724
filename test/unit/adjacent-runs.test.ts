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
    // A character both may take between them leaves the run going on.
    "\\S+@\\S+\\.\\S+",
    ".+:.+@",
    ".*password.*=",
    "[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
    // Bounded ones, past 100,000 splits, or beside an unbounded one past 16.
    "\\w{1,64}\\s?\\w{1,64}\\s?\\w{1,64}x",
    // Optional characters in a row vary as a repetition does: 2^17 splits (and an admin's save tried 2^40).
    `${".?".repeat(17)}x`,
    `${"a?".repeat(17)}${"a".repeat(17)}`,
    "\\d{1,64}\\d+x",
    // Assertions and lookarounds match nothing: the run goes on past them, and inside them.
    "\\d+(?=\\d+x)",
    "\\d+(?<=\\d+)\\d+x",
    "\\S+\\b\\S+x",
    // A lookbehind is matched from its end: a split that ends it is tried again for what is written before it.
    "(?<=x\\d+\\d+)\\d",
    "(?<!=\\S+\\S*)x",
    "(?<=a\\d+\\d+|b\\w+)z",
    "(?<=b\\w+|a\\d+\\d+)z",
    // A repetition that cannot take the whole run must still hold after every split of it (found by a fuzz).
    "\\w+\\w+\\d+",
    "-?[a-z]+\\w*\\d{2,}",
    "\\d+\\d+(?:a\\d)+",
    // A repeated group takes as many lengths as its runs a repetition: 20^3 beside an unbounded run.
    "-?\\w+(?:\\w{1,20}){1,3}x",
    "\\w+(?:\\w{1,4}){1,2}x",
    // A split inside a repeated group stands before its next repetition or the rest.
    "-?[^\\d]+(?:,\\d+\\d+){1,3}x",
    "(?:,\\d+\\d+){1,3}x",
    // Past the pattern's groups, `\1` is no back reference but the character U+0001, which must follow.
    "-?\\w+\\w+\\1",
    "\\w+\\w+\\8",
    // Letters of another script and \S, the spaces past ASCII and \s, share characters.
    "-?[а-я]+\\S+@",
    "\\s+\\u3000+x",
    // Control and octal escapes, and a back reference, of any length.
    "\\n+\\s+x",
    "\\cJ+\\s+x",
    "\\101+[A-Z]+x",
    "(\\d+)\\1x",
    // A back reference takes its group's characters, any in the group itself or in a group another refers to.
    "(?<n>[a-z]+)\\k<n>x",
    // Alternatives may name their groups alike: the reference may repeat either.
    "(?:(?<n>-)|(?<n>\\d+))\\k<n>x",
    "([\\w<]+)<.*\\1x",
    "(a\\1)b+a+x",
    "\\d+(?:-?\\d+)x",
    "\\w+(\\s*)\\w+x",
    // Alternatives of the same runs, nested or one after another, read once each (2^23 ways otherwise).
    `${"(?:\\d*|\\d*)".repeat(23)}x`,
    `\\d*${"(?:\\d*a|b".repeat(20)}${")?".repeat(20)}\\d+x`,
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
    // A split in a repeated group that ends the pattern takes the first split that comes.
    "(?:,\\d+\\d+)+",
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
    "x(?=\\d+\\d+)",
    // One repetition in a lookbehind.
    "(?<=password:\\s*)\\S+",
    // A character the later one cannot take marks the few places it may start: an email's domain.
    "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}\\b",
    "\\w+\\.\\w+\\.\\w+x",
    // A repeated group starts with what it must start with: a thousands separator.
    "\\$\\d+(?:,\\d{3})*\\.\\d{2}",
    "\\b\\d+(?:,\\d{3})*\\b",
    "\\d{1,3}\\d+x",
    // A split run that ends the pattern inside a group, or one alternative of it.
    "(\\d+\\d+)",
    "(?:\\d+\\d+|y)",
    // Groups kept apart by a character the runs cannot take.
    "(\\d+)\\.(\\d+)x",
    // \s and \S share no character, past ASCII either, nor do letters of other scripts and \s.
    "Bearer\\s+\\S+\\s",
    "\\S+\\s+x",
    "\\S+\\u00a0+\\S+x",
    "[А-Я][а-я]+\\s+[А-Я][а-я]+",
    // A back reference matches what its group matched, of its characters: a repeated word, a closing tag.
    "\\b(\\w+)\\s+\\1\\b",
    "<(\\w+)>.*?</\\1>",
    "<(?<tag>\\w+)>.*?</\\k<tag>>",
    "(['\"]).*?\\1",
    // Optional characters the runs beside them cannot take: a phone number's.
    "\\+?\\d{1,3}[ -]?\\(?\\d{3}\\)?[ -]?\\d{3}[ -]?\\d{4}",
  ])("is not claimed of %s", (pattern) => {
    expect(splitsRunsAmongRepetitions(pattern)).toBe(false);
  });
});
