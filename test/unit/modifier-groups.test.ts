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
    ["(a)(?:\\1)", "(a)(?:\\1)"],
    // A back reference matched in either case takes its group's characters folded, no class: one to any.
    ["(a)(?i:\\1)", "(a)(?:\\k<>)"],
    // Past ASCII, each character with those V8 matches it with under `i` alone (no `u`): é with É, µ
    // with Μ and μ, ſ with none (its upper case, S, is ASCII).
    ["(?i:é)", "(?:[\\u00c9\\u00e9])"],
    ["(?i:µ)", "(?:[\\u00b5\\u039c\\u03bc])"],
    ["(?i:ſ)", "(?:ſ)"],
    ["(?i:[éа])", "(?:[\\u00c9\\u00e9\\u0410\\u0430])"],
    // в with В and ᲀ, its rounded old form.
    ["(?i:[а-в])", "(?:[\\u0410-\\u0412\\u0430-\\u0432\\u1c80])"],
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
    ["(?i:é|É)+x", "overlapping"],
    ["(?i:(?:ИНН|инн)+)x", "overlapping"],
  ])("finds %s slow (%s)", (pattern, slow) => {
    expect(slowRepetitionIn(modifiersSpelledOut(pattern))).toBe(slow);
  });

  it.each([
    ["[a-z]+[A-Z]+x", "(?i:[a-z]+[A-Z]+x)"],
    ["[а-я]+[А-Я]+x", "(?i:[а-я]+[А-Я]+x)"],
  ])("finds a split run under `i` that the letters' own case would keep apart: %s, %s", (apart, folded) => {
    expect(splitsRunsAmongRepetitions(modifiersSpelledOut(apart))).toBe(false);
    expect(splitsRunsAmongRepetitions(modifiersSpelledOut(folded))).toBe(true);
  });

  it("reads a back reference under `i` as taking its group's characters in either case", () => {
    // Apart, the reference matches the group's `a`s, which the run of `A`s after it cannot take.
    expect(splitsRunsAmongRepetitions(modifiersSpelledOut("(a+)-\\1A+x"))).toBe(false);
    expect(splitsRunsAmongRepetitions(modifiersSpelledOut("(a+)-(?i:\\1)A+x"))).toBe(true);
  });

  it("reads each character past ASCII under `i` as V8 matches it", () => {
    // Every code unit that has another case, and a stride through the rest: the text V8 finds the
    // character in, ignoring case, is the text the class read for it finds.
    const everyCodeUnit = Array.from({ length: 0xff80 }, (_, i) => String.fromCharCode(0x80 + i)).join("");
    const cased = (c: string) => c.toUpperCase() !== c || c.toLowerCase() !== c;
    const sample = [...everyCodeUnit].filter((c, i) => cased(c) || i % 97 === 0);
    expect(sample.length).toBeGreaterThan(2_000);
    const differing = sample.filter((c) => {
      const escaped = `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
      const read = modifiersSpelledOut(`(?i:${escaped})`).slice("(?:".length, -1);
      return everyCodeUnit.match(new RegExp(escaped, "gi"))?.join("") !== everyCodeUnit.match(new RegExp(read, "g"))?.join("");
    });
    expect(differing).toEqual([]);
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
