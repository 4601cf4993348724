import { describe, expect, it } from "vitest";
import { textOf } from "../../src/encoding/bytes.js";
import { jsonUtf8, RawJson } from "../../src/process/raw-json.js";

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
