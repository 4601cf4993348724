import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { relayConfig } from "../../src/env.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * One gateway span whose payload or metadata JSON is mostly tiny values, within the body's limit in
 * bytes: translation, the default, parses a span's JSON only within its budget of entries
 * (process/raw-json.ts), and shows the rest as the text it came as.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;
const translating = {};

/** `element` repeated, comma-separated, to about `bytes` characters. */
const filled = (element: string, bytes: number) =>
  Array(Math.floor(bytes / (element.length + 1)))
    .fill(element)
    .join(",");

describe("a gateway span at the default limits whose JSON attribute is millions of tiny values, translated, under a 128 MiB heap", () => {
  it("a request body (tfy.input) with a setting that is a list of millions of empty lists completes", () => {
    const input = `{"messages":[{"role":"user","content":"hi"}],"logit_bias":[${filled("[]", limit - 64 * 1024)}]}`;
    const body = toProtobuf(requestOf([spanWith("s", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.input", input)])]));

    const run = runHeapCapped(body, "protobuf", translating);

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "completed", spans: 1 });
  });

  it("request metadata (tfy.request.metadata) of a million keys completes", () => {
    const members = Array.from({ length: 1_200_000 }, (_, i) => `"${i.toString(36)}":0`).join(",");
    const body = toProtobuf(
      requestOf([spanWith("s", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.request.metadata", `{${members}}`)])]),
    );
    expect(body.byteLength).toBeLessThan(limit);

    const run = runHeapCapped(body, "protobuf", translating);

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "completed", spans: 1 });
  });
});
