import { describe, expect, it } from "vitest";
import { textOf } from "../../src/encoding/bytes.js";
import { jsonUtf8, newParseBudget, parseKeepingIntegers, RawJson, withinParseBudget } from "../../src/process/raw-json.js";

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
  const emptyLists = (count: number) => `[${Array(count).fill("[]").join(",")}]`;

  it("has room for what fits, and none for what would spend past the budget", () => {
    newParseBudget();
    // Two entries each, the list's bracket and the comma after it: 80,000 of the 100,000.
    expect(withinParseBudget(emptyLists(40_000))).toBe(true);
    expect(withinParseBudget(emptyLists(40_000))).toBe(false);
    // The refused text took nothing: what still fits, fits.
    expect(withinParseBudget(emptyLists(9_000))).toBe(true);
  });

  it("charges scalars nothing, so a span's strings and numbers are read however its lists spent the budget", () => {
    newParseBudget();
    expect(withinParseBudget(emptyLists(50_000))).toBe(true);
    expect(withinParseBudget(' "context length exceeded"')).toBe(true);
    expect(withinParseBudget("0.7")).toBe(true);
    expect(withinParseBudget("[]")).toBe(false);
  });

  it("gives each span a budget of its own", () => {
    newParseBudget();
    expect(withinParseBudget(emptyLists(40_000))).toBe(true);
    newParseBudget();
    expect(withinParseBudget(emptyLists(40_000))).toBe(true);
  });

  it("counts entries, not characters: long prose in a few members costs little", () => {
    newParseBudget();
    expect(withinParseBudget(JSON.stringify({ messages: [{ role: "user", content: "word, ".repeat(400_000) }] }))).toBe(true);
    expect(withinParseBudget(emptyLists(49_000))).toBe(true);
  });
});
