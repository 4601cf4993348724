import { describe, expect, it } from "vitest";
import { textOf } from "../../src/encoding/bytes.js";
import {
  jsonUtf8,
  MAX_PARSED_ENTRIES_PER_SPAN,
  newParseBudget,
  parseKeepingIntegers,
  RawJson,
  withinParseBudget,
} from "../../src/process/raw-json.js";

const utf8 = new TextEncoder();

describe("JSON for a value, as UTF-8", () => {
  it("is raw JSON's bytes as they are, and anything else as JSON.stringify writes it", () => {
    const raw = utf8.encode('[ {"role": "user"} ]');
    expect(jsonUtf8(new RawJson(raw))).toBe(raw);
    expect(textOf(jsonUtf8([{ role: "user" }]))).toBe('[{"role":"user"}]');
    expect(textOf(jsonUtf8("text"))).toBe('"text"');
    expect(jsonUtf8({ é: "😀" })).toEqual(utf8.encode('{"é":"😀"}'));
  });
});

describe("JSON parsed to be written out again", () => {
  // Each alone: one integer that long in a text has all of its numbers read digit by digit.
  it.each([
    ["9007199254740993", "9007199254740993"],
    ["9.007199254740993e15", "9007199254740993"],
    ["90071992547409930e-1", "9007199254740993"],
    ["-9007199254740993.0", "-9007199254740993"],
    ["1e17", "100000000000000000"],
    ["123456789012345e6", "123456789012345000000"],
  ])("keeps every digit of an integer past 2^53 written %s", (written, digits) => {
    expect(JSON.stringify(parseKeepingIntegers(`{"seed":${written}}`))).toBe(`{"seed":${digits}}`);
  });
});

describe("JSON parsed for one span, within the span's budget of lists, objects, members and items", () => {
  /** A list of `count` empty lists: two entries each, its bracket and the comma after it (the first's, the outer list's). */
  const emptyLists = (count: number) => `[${Array(count).fill("[]").join(",")}]`;
  const budget = MAX_PARSED_ENTRIES_PER_SPAN;

  it("has room for what fits, and none for what would spend past the budget", () => {
    newParseBudget();
    // 80% of the budget, then as much again.
    expect(withinParseBudget(emptyLists(0.4 * budget))).toBe(true);
    expect(withinParseBudget(emptyLists(0.4 * budget))).toBe(false);
    // The refused text took nothing: what still fits, fits.
    expect(withinParseBudget(emptyLists(0.09 * budget))).toBe(true);
  });

  it("charges scalars nothing, so a span's strings and numbers are read however its lists spent the budget", () => {
    newParseBudget();
    expect(withinParseBudget(emptyLists(budget / 2))).toBe(true);
    expect(withinParseBudget(' "context length exceeded"')).toBe(true);
    expect(withinParseBudget("0.7")).toBe(true);
    expect(withinParseBudget("[]")).toBe(false);
  });

  it("gives each span a budget of its own", () => {
    newParseBudget();
    expect(withinParseBudget(emptyLists(0.4 * budget))).toBe(true);
    newParseBudget();
    expect(withinParseBudget(emptyLists(0.4 * budget))).toBe(true);
  });

  it("counts entries, not characters: long prose in a few members costs little", () => {
    newParseBudget();
    expect(withinParseBudget(JSON.stringify({ messages: [{ role: "user", content: "word, ".repeat(400_000) }] }))).toBe(true);
    expect(withinParseBudget(emptyLists(0.49 * budget))).toBe(true);
  });
});
