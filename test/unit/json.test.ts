import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { textOf } from "../../src/encoding/bytes.js";
import {
  firstListItem,
  forEachScalar,
  isJson,
  jsonList,
  jsonObject,
  listItems,
  numberListLength,
  objectMembers,
  type ReviverContext,
  sameJson,
  unsafeIntegerDigits,
} from "../../src/encoding/json.js";
import { OVER_BUDGET } from "../../src/encoding/json-reader.js";

const utf8 = new TextEncoder();

/** The members of the text's UTF-8, each value as text. */
function membersOf(text: string): Array<[string, string]> | undefined {
  return objectMembers(utf8.encode(text))?.map(([key, value]) => [key, textOf(value)]);
}

/** Text as JSON.parse accepts it, and text that is often not: a cut, or a character changed. */
const jsonishTexts = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ a: v, b: [v] }, null, 2)),
  fc
    .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom("", "}", "]", ",", '"', "\\", "x", "1", " ", "\u0001", "\uFEFF"))
    .map(([text, at, c]) => text.slice(0, at % (text.length + 1)) + c + text.slice((at % (text.length + 1)) + 1)),
);

/** What JSON.parse makes of the text: the object, or why not one. */
function parsedObject(text: string): Record<string, unknown> | "not an object" {
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : "not an object";
  } catch {
    return "not an object";
  }
}

describe("a JSON object's members as text", () => {
  it("are found exactly when JSON.parse reads an object, and each parses to what JSON.parse gives it", () => {
    fc.assert(
      fc.property(jsonishTexts, (text) => {
        const expected = parsedObject(text);
        const members = membersOf(text);
        if (expected === "not an object") expect(members).toBeUndefined();
        else expect(Object.fromEntries(members!.map(([key, raw]) => [key, JSON.parse(raw)]))).toEqual(expected);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it("keep every member in order, a repeated key as often as it comes, each value's text as written", () => {
    expect(membersOf(' { "a" : [1, {"b": "}"}] , "a":2,"c":"\\u00e9\\n","é":"ü€😀" } ')).toEqual([
      ["a", '[1, {"b": "}"}]'],
      ["a", "2"],
      ["c", '"\\u00e9\\n"'],
      ["é", '"ü€😀"'],
    ]);
    // U+FEFF is a character like any other, as JSON.parse has it: kept in a key, refused before the object.
    expect(membersOf('{"\uFEFFmodel":"gpt"}')).toEqual([["\uFEFFmodel", '"gpt"']]);
    expect(membersOf('\uFEFF{"model":"gpt"}')).toBeUndefined();
  });

  it.each(['{"a":01}', '{"a":1.}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":tru}', '{"a":1,}', '{"a" 1}', '{"a":1}x', "[1]", '"s"', ""])(
    "are not found in %j, which is not a valid JSON object",
    (text) => {
      expect(membersOf(text)).toBeUndefined();
    },
  );
});

describe("a JSON list's items as text", () => {
  it("are found exactly when JSON.parse reads a list, each as written, and written back as JSON.parse reads them", () => {
    fc.assert(
      fc.property(jsonishTexts, (text) => {
        const items = listItems(utf8.encode(text));
        let expected: unknown;
        try {
          expected = JSON.parse(text);
        } catch {
          expected = undefined;
        }
        if (!Array.isArray(expected)) expect(items).toBeUndefined();
        else {
          expect(items!.map((raw) => JSON.parse(textOf(raw)))).toEqual(expected);
          expect(JSON.parse(textOf(jsonList(items!)))).toEqual(expected);
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it("keep each item's text as written, and an object of members is written with its keys anew", () => {
    expect(listItems(utf8.encode(' [ 1 , {"a": [2]} ,"\\n"] '))?.map(textOf)).toEqual(["1", '{"a": [2]}', '"\\n"']);
    expect(textOf(jsonList([]))).toBe("[]");
    expect(textOf(jsonObject([]))).toBe("{}");
    expect(
      textOf(
        jsonObject([
          ['a"b', utf8.encode("[1, 2]")],
          ['a"b', utf8.encode("3")],
        ]),
      ),
    ).toBe('{"a\\"b":[1, 2],"a\\"b":3}');
  });
});

describe("whether UTF-8 is JSON", () => {
  it("is exactly whether JSON.parse reads its text", () => {
    fc.assert(
      fc.property(jsonishTexts, (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        expect(isJson(utf8.encode(text))).toBe(parses);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it.each(["[1,}", '{"a":[}', "tru", '{"a":1', "[1 2]", '"\\u00"', "01", "-", "1e", "[] []", ""])("refuses %j", (text) => {
    expect(isJson(utf8.encode(text))).toBe(false);
  });

  it.each([' {"a": [1, -0.5e+3, true, false, null, "\\u00e9\\n"]} ', "0", '"é😀"', "[]"])("accepts %j", (text) => {
    expect(isJson(utf8.encode(text))).toBe(true);
  });
});

describe("the digits of an integer past 2^53, for a JSON.parse reviver", () => {
  const read = (text: string) =>
    JSON.parse(text, (_key: string, value: unknown, context?: ReviverContext) => unsafeIntegerDigits(value, context) ?? value);

  it("are the integer's however its text writes it, and none for a fraction, a smaller number or one past 64 bits", () => {
    expect(
      read(
        "[9007199254740993, -9007199254740993, 9007199254740993.000, 9.007199254740993E+015, 90071992547409930e-1, 18446744073709551615, 1.8446744073709551615e19]",
      ),
    ).toEqual([
      "9007199254740993",
      "-9007199254740993",
      "9007199254740993",
      "9007199254740993",
      "9007199254740993",
      "18446744073709551615",
      "18446744073709551615",
    ]);
    // Past 64 bits, a payload's number stays the double JSON.stringify writes (`1e+21`): `1e399` written
    // out would be 400 bytes from 5, and `1e999999999` a billion.
    expect(read("[9007199254740993.5, 12.0, 1e21, 1e399, 1e999999999, -0.0e30]")).toEqual([
      9007199254740994,
      12,
      1e21,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      -0,
    ]);
  });
});

describe("a list's first item, and a list of numbers' length, read without keeping the rest", () => {
  it.each([
    [' [ {"a": [1, 2]} , 3, "x"] ', '{"a": [1, 2]}', undefined],
    [" [ 1, -2.5e3 ,0 ] ", "1", 3],
    ["[7]", "7", 1],
    ["[]", undefined, 0],
  ])("of %s: %s, and %s numbers", (text, first, length) => {
    const bytes = utf8.encode(text);
    const item = firstListItem(bytes);
    expect(item === undefined ? undefined : textOf(item)).toBe(first);
    expect(numberListLength(bytes)).toBe(length);
  });

  it.each(["[1,]", "[1 2]", '{"a":1}', "[1] x", "[01]"])("none of %j, which is no JSON list", (text) => {
    expect(firstListItem(utf8.encode(text))).toBeUndefined();
    expect(numberListLength(utf8.encode(text))).toBeUndefined();
  });
});

describe("every scalar a JSON value holds", () => {
  it("is each value but keys and nulls, decoded: a string's text, a number as it reads", () => {
    const text = '{"k": ["caf\\u00e9", 1.50, -2e3, true, false, null, {"inner": "x"}], "n": 9}';
    const tokens: string[] = [];

    expect(forEachScalar(utf8.encode(text), (token) => tokens.push(token))).toBe(true);
    expect(tokens).toEqual(["scafé", "n1.5", "n-2000", "true", "false", "sx", "n9"]);
    expect(forEachScalar(utf8.encode('{"a": tru}'), () => undefined)).toBe(false);
  });
});

describe("the reader's limits and escapes", () => {
  it("reads exactly as many members and items as the budget allows, and says when one more would go past it", () => {
    const object = utf8.encode('{"a": 1, "b": [2, 3]}');
    const list = utf8.encode("[1, 2, 3]");

    expect(objectMembers(object, { left: 2 })).toHaveLength(2);
    expect(objectMembers(object, { left: 1 })).toBe(OVER_BUDGET);
    expect(listItems(list, { left: 3 })).toHaveLength(3);
    expect(listItems(list, { left: 2 })).toBe(OVER_BUDGET);
  });

  it("finds every scalar of JSON nested as deep as JSON is read, refuses it one level deeper, and takes white space around it", () => {
    const nested = (depth: number) => utf8.encode(`${"[".repeat(depth - 1)}"deep"${"]".repeat(depth - 1)}`);
    const tokens: string[] = [];

    expect(forEachScalar(nested(256), (token) => tokens.push(token))).toBe(true);
    expect(tokens).toEqual(["sdeep"]);
    expect(isJson(nested(256))).toBe(true);
    expect(forEachScalar(nested(257), () => undefined)).toBe(false);
    expect(isJson(nested(257))).toBe(false);
    expect(forEachScalar(utf8.encode(' \n{"a": 1} '), () => undefined)).toBe(true);
  });

  it.each(['"\\u00e9\\u00E9\\uABCD\\uabcd\\uFfAa\\u0009"', '["\\na"   , "x"]', '{"k": "\\t\\"b"  , "l": 1}'])("accepts %j", (text) => {
    expect(isJson(utf8.encode(text))).toBe(true);
    expect(listItems(utf8.encode(`[${text}]`))).toHaveLength(1);
  });

  it.each(['"\\u00@0"', '"\\u00G0"', '"\\u00`0"', '"\\u00g0"', '"\\u00 0"'])("refuses %j", (text) => {
    expect(isJson(utf8.encode(text))).toBe(false);
  });
});

describe("whether two JSON values are the same", () => {
  it("takes a number kept as its digits for the number they write, and nothing else for a number", () => {
    const digits = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

    expect(sameJson(digits("12345678901234567890"), digits("12345678901234567890"))).toBe(true);
    expect(sameJson(digits("3"), 3)).toBe(true);
    expect(sameJson([{ n: 3 }], [{ n: digits("3") }])).toBe(true);
    expect(sameJson(digits("3"), "3")).toBe(false);
    expect(sameJson("3", 3)).toBe(false);
    expect(sameJson(null, 0)).toBe(false);
    expect(sameJson(NaN, null)).toBe(false);
    expect(sameJson({ a: 1 }, undefined)).toBe(false);
  });
});
