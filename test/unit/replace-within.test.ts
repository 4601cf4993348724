import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replaceWithin } from "../../src/process/replace-within.js";

const PATTERNS = [/a/g, /(a)(b)?/g, /(?<first>a)(?<second>b)?/g, /(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(b)?/g, /x/g];

describe("replacing within a length", () => {
  it("reads the replacement as String.prototype.replace does, $-references included", () => {
    const templates = fc.string({
      unit: fc.constantFrom("$", "&", "`", "'", "<", ">", "0", "1", "2", "9", "first", "none", "-"),
      maxLength: 12,
    });
    const texts = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 30 });
    fc.assert(
      fc.property(fc.constantFrom(...PATTERNS), templates, texts, (pattern, template, text) => {
        expect(replaceWithin(text, pattern, template, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(
          text.replace(pattern, template),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("reads two-digit, zero-led and named references, and a reference's neighbours, as String.prototype.replace does", () => {
    // Twelve captures: `$12` names the last, `$13` is `$1` and a 3; `$1 ` and `$1.` a capture and what follows it.
    const twelve = /(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(b)?/g;
    const named = /(?<first>a)(?<second>b)?/g;
    const templates = ["$9|$10|$11|$12|$13|$01|$00|$1 |$1.|$1a|$", "$<first>|$<second>|$<none>", "$<first", ">$<first", "$<first>>"];
    for (const template of templates) {
      for (const [text, pattern] of [
        ["aaaaaaaaaaab aaaaaaaaaaa", twelve],
        ["ab-a", named],
      ] as const) {
        expect(replaceWithin(text, pattern, template, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(
          text.replace(pattern, template),
        );
      }
    }
  });

  it("finds a match wherever it is, whatever text comes before it", () => {
    expect(replaceWithin("undefinedx", /x/g, "y", 100, 100)).toBe("undefinedy");
  });

  it("leaves a match of empty text as it is", () => {
    expect(replaceWithin("abab", /(?=b)/g, "X", 100, 100)).toBe("abab");
    expect(replaceWithin("abab", /(?<=a)/g, "X", 100, 100)).toBe("abab");
    expect(replaceWithin("abba", /b*/g, "X", 100, 100)).toBe("aXa");
    expect(replaceWithin("e".repeat(200), /(?=e)/g, "[REDACTED]", 1000, 100)).toBe("e".repeat(200));
  });

  it("gives up once the text, as far as it is masked, grows past the length, and not before", () => {
    expect(replaceWithin("aaaa", /a/g, "bb", 8, 4)).toBe("bbbbbbbb");
    expect(replaceWithin("aaaa", /a/g, "bb", 7, 4)).toBeUndefined();
    expect(replaceWithin("abab", /a|b/g, "", 4, 4)).toBe("");
  });

  it("gives up once more matches than it may replace were found, and not before", () => {
    expect(replaceWithin("a-a-a", /a/g, "b", 5, 3)).toBe("b-b-b");
    expect(replaceWithin("a-a-a", /a/g, "b", 5, 2)).toBeUndefined();
  });
});

describe("a pattern starting with a character's unbounded repetition, searched from its runs' starts alone", () => {
  // Each starts with a run the rest may or may not follow, ends able to take that run's character
  // (so a match may end inside a run the next match starts in), or matches empty text.
  const RUN_PATTERNS = [
    /\d+ ?U/g,
    /[ab.]+@c/g,
    /a*b/g,
    /a+?b/g,
    /a*?/g,
    /.*x/g,
    /a{2,}b?a?/g,
    /\S+@c/g,
    /a+(b)?(?<last>a)?/g,
    /a+x\d?/g,
    /\d+x\d?/g,
    /a+|b/g,
    /[^ ]+(?<=b)c/g,
    /([ab.]+)@c/g,
    /(?:\d+)x\d?/g,
    /(?<r>a+?)b?a?/g,
    /(a+)b\1/g,
    /(?<v>a+)x\k<v>/g,
    /(?:a+)b(a)\1/g,
  ];

  it("finds what the pattern as written finds, match for match", () => {
    const texts = fc.string({ unit: fc.constantFrom("a", "b", "1", "2", " ", "@", "c", "x", "U", "."), maxLength: 40 });
    fc.assert(
      fc.property(fc.constantFrom(...RUN_PATTERNS), texts, (pattern, text) => {
        expect(replaceWithin(text, pattern, "<$&>", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(
          text.replace(pattern, (match: string) => (match === "" ? "" : `<${match}>`)),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("tries the pattern as written where a match ended inside the run the next one starts in", () => {
    expect(replaceWithin("1x23x", /\d+x\d?/g, "<$&>", 100, 100)).toBe("<1x2><3x>");
    expect(replaceWithin("aaxaaax", /a+x?a?/g, "<$&>", 100, 100)).toBe("<aaxa><aax>");
    expect(replaceWithin("1x23x", /(\d+)x\d?/g, "<$1>", 100, 100)).toBe("<1><3>");
    expect(replaceWithin("id 4242-42", /(\d+)-\1/g, "[R]", 100, 100)).toBe("id 42[R]");
  });
});
